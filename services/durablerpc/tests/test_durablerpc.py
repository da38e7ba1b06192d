"""ProductService against a real Restate server: idempotency, one winner, crashes."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from common.ingress import Ingress
from toolkit.testing import Harness

pytestmark = pytest.mark.e2e


def reserve(ingress: Ingress, product: str, reservation: str) -> bool:
    return bool(ingress.call("ProductService", "Reserve", key=product, idempotency_key=reservation))


def test_client_prints_true_false_true(harness: Harness, unique: str) -> None:
    harness.service("durablerpc")
    client = Path(sys.executable).with_name("client")
    env = {"RESTATE_INGRESS_URL": harness.server.ingress_url, "PATH": str(client.parent)}
    answers = [
        subprocess.run(
            [str(client), "durablerpc", "--productId", unique, "--reservationId", reservation],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout.strip()
        for reservation in ("1", "2", "1")
    ]
    assert answers == ["true", "false", "true"]


def test_concurrent_reservations_have_one_winner(harness: Harness, ingress: Ingress, unique: str) -> None:
    harness.service("durablerpc")
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda i: reserve(ingress, unique, f"r{i}"), range(32)))
    assert results.count(True) == 1
    assert results.count(False) == 31


def test_reservation_id_is_scoped_to_the_product(harness: Harness, ingress: Ingress, unique: str) -> None:
    harness.service("durablerpc")
    assert reserve(ingress, f"{unique}-a", "same") is True
    assert reserve(ingress, f"{unique}-b", "same") is True
    assert reserve(ingress, f"{unique}-b", "other") is False


def test_input_is_rejected_with_400_and_changes_nothing(
    harness: Harness, ingress: Ingress, unique: str
) -> None:
    harness.service("durablerpc")
    response = ingress.raw("ProductService", "Reserve", {"unexpected": 1}, key=unique, timeout=10)
    assert response.status_code == 400
    assert reserve(ingress, unique, "first") is True


def test_unsigned_requests_to_the_service_are_refused(harness: Harness) -> None:
    service = harness.service("durablerpc")
    import httpx

    response = httpx.post(f"{service.url}/invoke/ProductService/x/Reserve", content=b"", timeout=5)
    assert response.status_code == 401
    assert httpx.get(f"{service.url}/health", timeout=5).json()["pattern"] == "durablerpc"


@pytest.mark.crash
def test_reservations_survive_crashes_of_service_and_server(
    harness: Harness, ingress: Ingress, unique: str
) -> None:
    service = harness.service("durablerpc")
    assert reserve(ingress, unique, "before") is True
    service.kill()
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(reserve, ingress, f"{unique}-late", "late")  # retried while down
        service.restart()
        assert pending.result(timeout=60) is True
    harness.server.restart(crash=True)
    assert reserve(ingress, unique, "after") is False
    assert reserve(ingress, unique, "before") is True
