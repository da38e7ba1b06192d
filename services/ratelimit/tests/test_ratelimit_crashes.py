"""LimitedTask across crashes: of the service mid-work, and of Restate while a task waits."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import pytest

from common.ingress import Ingress
from common.testing import Harness, ServiceHandle
from common.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.crash]


def start(harness: Harness, limiter: str, **env: str) -> ServiceHandle:
    return harness.service(
        "ratelimit", **{"RATELIMIT_TASK_LIMITER": limiter, "RATELIMIT_WORK_SECONDS": "0", **env}
    )


def set_rate(ingress: Ingress, limiter: str, limit: float, burst: int) -> None:
    ingress.call("Limiter", "SetRate", {"limit": limit, "burst": burst}, key=limiter)


def at(result: dict[str, Any], field: str) -> float:
    return datetime.fromisoformat(result[field]).timestamp()


def work_done(service: ServiceHandle) -> int:
    return len(service.ledger.effects("heavywork", "process"))


def test_killing_the_service_mid_work_still_does_the_work_once(
    harness: Harness, ingress: Ingress, unique: str
) -> None:
    service = start(harness, unique, RATELIMIT_WORK_SECONDS="2")
    set_rate(ingress, unique, 10, 1)
    sent = ingress.send("LimitedTask", "RunTask")
    attempts = lambda: service.ledger.attempts("heavywork", "process", sent.invocation_id)  # noqa: E731
    wait_until(lambda: attempts() >= 1, timeout=30, what="the work to start")
    service.kill()
    service.restart()
    result = ingress.attach(sent.invocation_id, timeout=60)
    assert at(result, "startedAt") >= at(result, "grantedAt")
    assert attempts() == 2
    assert work_done(service) == 1


def test_a_waiting_task_keeps_its_turn_across_a_server_crash(
    harness: Harness, ingress: Ingress, unique: str
) -> None:
    service = start(harness, unique)
    set_rate(ingress, unique, 0.5, 1)
    first = ingress.call("LimitedTask", "RunTask")
    sent = ingress.send("LimitedTask", "RunTask")
    wait_until(lambda: ingress.call("Limiter", "Tokens", key=unique) < -0.5, timeout=30, what="a reservation")
    crashed_at = time.time()
    harness.server.restart(crash=True)
    second = ingress.attach(sent.invocation_id, timeout=60)
    assert at(second, "grantedAt") - at(first, "grantedAt") == pytest.approx(2.0, rel=0.05)
    assert at(second, "startedAt") >= at(second, "grantedAt")
    assert at(second, "reservedAt") < crashed_at  # the reservation made before the crash stood
    assert work_done(service) == 2
