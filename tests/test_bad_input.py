"""No input can wedge a key: each class of hostile input gets a fast 4xx and leaves the key usable.

One test per class, through the real ingress; each fails when its guard in the shared handler
layer (``common.handlers``, ``common.strictjson``, ``common.events``, ``common.serving``) is
removed: the call then answers 500 or never answers, and its invocation is left backing off.
"""

from __future__ import annotations

import httpx
import pytest

from common.handlers import MAX_KEY_BYTES
from common.ingress import Admin, Ingress
from toolkit.testing import Harness
from toolkit.waiting import wait_until

pytestmark = pytest.mark.e2e

SURROGATE = '"\\ud800x"'  # a JSON string holding a lone surrogate
NO_FAILURES = {"SAGAS_PAYMENT__DECLINE__MODE": "off", "SAGAS_PAYMENT__FAILURE__MODE": "off"}
BOOKING = (
    '{"flights": {"flight_id": "1", "passenger_name": "Ann"}, '
    '"car": {"pickup_location": "Airport", "rental_date": "2024-12-16"}, '
    '"payment_info": {"card_number": "4111111111111111", "amount": %s}}'
)


def refused(response: httpx.Response, status: int, *words: str) -> None:
    assert response.status_code == status, response.text
    message = response.json()["message"]
    assert all(word in message for word in words), message


def settled(admin: Admin, service: str, key: str | None = None) -> None:
    """No invocation of ``service`` (on ``key``) is left running or backing off."""
    where = f"target_service_name = '{service}'"
    if key is not None:
        where += f" AND target_service_key = '{key}'"

    def quiet() -> bool:
        rows = admin.query(f"SELECT id, status FROM sys_invocation WHERE {where} AND status != 'completed'")
        return not rows

    wait_until(quiet, timeout=10, what=f"every invocation of {service} completed")


def post(ingress: Ingress, path: str, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    base = {"content-type": "application/json"}
    return ingress.http.post(path, content=body, headers={**base, **(headers or {})}, timeout=10)


def test_lone_surrogates_are_refused_before_any_effect(
    harness: Harness, ingress: Ingress, admin: Admin, unique: str
) -> None:
    queue = harness.service("queue", QUEUE_WORK_SECONDS="0")
    body = b'{"id": "%s", "description": %s}' % (unique.encode(), SURROGATE.encode())
    refused(post(ingress, "/AsyncTaskWorker/RunTask", body), 400, "description", "Unicode")
    assert queue.ledger.attempts("heavywork", "process", unique) == 0
    harness.service("parallelizework")
    refused(post(ingress, "/FanOutWorker/Run", b'{"description": "a,\\udfffb"}'), 400, "description")
    sagas = harness.service("sagas", **NO_FAILURES)
    refused(post(ingress, "/Flights/Cancel", SURROGATE.encode()), 400, "Unicode")
    refused(post(ingress, "/CarRentals/Cancel", SURROGATE.encode()), 400, "Unicode")
    assert sagas.ledger.effects("flights", "cancel") == sagas.ledger.effects("cars", "cancel") == []
    harness.service("eventenrichment")
    path = f"/PackageTracker/{unique}/RegisterPackage"
    refused(post(ingress, path, b'{"finalDestination": %s}' % SURROGATE.encode()), 400, "finalDestination")
    assert ingress.raw("PackageTracker", "GetPackageInfo", key=unique).status_code == 404
    post(ingress, path, b'{"finalDestination": "Berlin"}').raise_for_status()
    for service in ("AsyncTaskWorker", "FanOutWorker", "Flights", "CarRentals", "PackageTracker"):
        settled(admin, service)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"[" * 50000, ("nested deeper",)),
        (b'{"id": "t", "description": "x", "n": %s}' % (b"9" * 5000), ("5000 digits",)),
        (b'{"id": "t", "description": NaN}', ("description", "non-finite")),
        (b'"' + b"x" * (1024 * 1024) + b'"', ("larger than",)),
    ],
    ids=["deep", "huge-integer", "nan", "oversized"],
)
def test_unparseable_bodies_are_input_errors_not_server_errors(
    body: bytes, words: tuple[str, ...], harness: Harness, ingress: Ingress, admin: Admin
) -> None:
    harness.service("queue", QUEUE_WORK_SECONDS="0")
    status = 413 if "larger than" in words else 400
    refused(post(ingress, "/AsyncTaskWorker/RunTask", body), status, *words)
    settled(admin, "AsyncTaskWorker")


@pytest.mark.parametrize("amount", ["1e999", '"1e999"', '"Infinity"', "-1e999"])
def test_an_infinite_amount_books_nothing(
    amount: str, harness: Harness, ingress: Ingress, admin: Admin, unique: str
) -> None:
    sagas = harness.service("sagas", **NO_FAILURES)
    before = len(sagas.ledger.effects())
    response = post(ingress, f"/BookingWorkflow/{unique}/Run", (BOOKING % amount).encode())
    refused(response, 400, "payment_info.amount")
    settled(admin, "BookingWorkflow", unique)
    assert len(sagas.ledger.effects()) == before


def test_a_caller_cannot_claim_to_be_the_kafka_subscription(
    harness: Harness, ingress: Ingress, admin: Admin, unique: str
) -> None:
    """No broker runs here: taking the dead-letter branch would retry forever."""
    harness.service("eventenrichment")
    claims = {
        "kafka.topic": "package-location-updates",
        "restate.subscription.id": "sub_1",
        "kafka.offset": "1",
    }
    response = post(ingress, f"/PackageTracker/{unique}/UpdateLocation", b"{not json", claims)
    refused(response, 400, "not valid JSON")
    settled(admin, "PackageTracker", unique)


def test_keys_work_up_to_the_limit_and_are_refused_past_it(
    harness: Harness, ingress: Ingress, admin: Admin, unique: str
) -> None:
    harness.service("durablerpc")
    longest = unique + "k" * (MAX_KEY_BYTES - len(unique))
    assert ingress.call("ProductService", "Reserve", key=longest) is True
    for length in (MAX_KEY_BYTES + 1, 32 * 1024, 60 * 1024):
        key = unique + "k" * (length - len(unique))
        refused(ingress.raw("ProductService", "Reserve", key=key, timeout=10), 400, "key", str(length))
    assert ingress.call("ProductService", "Reserve", key=longest) is False
    settled(admin, "ProductService")


def test_a_key_of_multibyte_characters_counts_bytes(harness: Harness, ingress: Ingress) -> None:
    harness.service("durablerpc")
    key = "é" * (MAX_KEY_BYTES // 2 + 1)  # 4098 bytes in 2049 characters
    refused(ingress.raw("ProductService", "Reserve", key=key, timeout=10), 400, str(MAX_KEY_BYTES))
