"""Numbers out of bounds, through the real server: a 4xx at once, and the limiter's key stays free.

A handler that raised anything but a terminal error would be retried forever, and every later
call on its key would queue behind it. So each case checks three things: the bad call answers
quickly with a 4xx naming the field, a normal ``ReserveN`` on the same key answers right after,
and Restate holds no invocation of that key that has not completed (none backing off).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from common.ingress import Admin, Ingress
from toolkit.testing import Harness

pytestmark = pytest.mark.e2e

QUICK = 10.0  # seconds; a refusal takes milliseconds, a wedged key never answers
NORMAL = {"n": 1, "maxFutureReserve": None}
RESERVATION = {"ok": True, "tokens": 1, "creationTime": "2025-01-01T00:00:00Z", "timeToAct": None}


def limiter(ingress: Ingress, key: str, handler: str, body: Any = None) -> Any:
    return ingress.call("Limiter", handler, body, key=key, timeout=QUICK)


def invocations(admin: Admin, key: str) -> list[dict[str, Any]]:
    quoted = key.replace("'", "''")
    return admin.query(
        "SELECT target_handler_name, status, completion_result FROM sys_invocation "
        f"WHERE target_service_name = 'Limiter' AND target_service_key = '{quoted}'"
    )


def assert_key_is_free(ingress: Ingress, admin: Admin, key: str) -> dict[str, Any]:
    """A normal reservation answers at once, and nothing of the key is left in flight."""
    answer: dict[str, Any] = limiter(ingress, key, "ReserveN", NORMAL)
    left = [row for row in invocations(admin, key) if row["status"] != "completed"]
    assert left == [], f"invocations of Limiter/{key} still in flight: {left}"
    return answer


@pytest.mark.parametrize(
    ("handler", "body", "field"),
    [
        ("ReserveN", b'{"n": 1, "maxFutureReserve": 1e999}', "maxFutureReserve"),
        ("ReserveN", {"n": 1, "maxFutureReserve": 1e300}, "maxFutureReserve"),
        ("ReserveN", {"n": 2**70, "maxFutureReserve": None}, "n"),
        ("SetRate", {"limit": 1e-300, "burst": 1}, "limit"),
        ("SetRate", {"limit": 1e300}, "limit"),
        ("SetRate", {"burst": 2**70}, "burst"),
        ("CancelReservation", {**RESERVATION, "limit": 1e-300}, "limit"),
        ("CancelReservation", {**RESERVATION, "tokens": 2**70, "limit": 1}, "tokens"),
    ],
    ids=[
        "reserve-1e999",
        "reserve-1e300",
        "reserve-2**70",
        "limit-1e-300",
        "limit-1e300",
        "burst-2**70",
        "cancel-limit",
        "cancel-tokens",
    ],
)
def test_a_number_out_of_bounds_is_a_400_and_the_key_stays_free(
    harness: Harness, ingress: Ingress, admin: Admin, unique: str, handler: str, body: Any, field: str
) -> None:
    harness.service("ratelimit")
    limiter(ingress, unique, "SetRate", {"limit": 1, "burst": 1})
    before = limiter(ingress, unique, "State")
    response = ingress.raw("Limiter", handler, body, key=unique, timeout=QUICK)
    assert response.status_code == 400, response.text
    assert f"{field}:" in response.json()["message"]
    assert limiter(ingress, unique, "State") == before  # refused before any state change
    assert assert_key_is_free(ingress, admin, unique)["ok"] is True
    assert {"target_handler_name": handler, "status": "completed", "completion_result": "failure"} in (
        invocations(admin, unique)
    )


def test_a_bad_reservation_on_the_task_limiter_does_not_stop_limited_task(
    harness: Harness, ingress: Ingress, admin: Admin, unique: str
) -> None:
    harness.service("ratelimit", RATELIMIT_TASK_LIMITER=unique, RATELIMIT_WORK_SECONDS="0")
    limiter(ingress, unique, "SetRate", {"limit": 10, "burst": 1})
    bad = ingress.raw("Limiter", "ReserveN", {"n": 1, "maxFutureReserve": 1e300}, key=unique, timeout=QUICK)
    assert bad.status_code == 400, bad.text
    assert ingress.call("LimitedTask", "RunTask", timeout=QUICK)["tokens"] == 1
    huge = ingress.raw("LimitedTask", "RunBatch", {"size": 2**70}, timeout=QUICK)
    assert huge.status_code == 400 and "size:" in huge.json()["message"], huge.text
    assert_key_is_free(ingress, admin, unique)


def plant(admin: Admin, key: str, state: dict[str, Any]) -> None:
    """Write the object's state as an older version might have (admin API: modify state)."""
    body = {"object_key": key, "new_state": {"state": list(json.dumps(state).encode())}}
    response = admin.http.post("/services/Limiter/state", json=body)
    assert response.status_code == 202, response.text


@pytest.mark.parametrize(
    "stored",
    [
        {"limit": 1e-300, "burst": 1, "tokens": 0, "last": "2025-01-01T00:00:00Z", "lastEvent": None},
        {
            "limit": 1e300,
            "burst": 2**70,
            "tokens": -(2**72),
            "last": "9999-12-31T23:59:59Z",
            "lastEvent": None,
        },
    ],
    ids=["tiny-limit", "huge-burst"],
)
def test_a_state_from_before_the_bounds_is_read_and_refuses(
    harness: Harness, ingress: Ingress, admin: Admin, unique: str, stored: dict[str, Any]
) -> None:
    harness.service("ratelimit")
    limiter(ingress, unique, "SetRate", {"limit": 1, "burst": 1})
    plant(admin, unique, stored)
    refused = limiter(ingress, unique, "ReserveN", {"n": 1, "maxFutureReserve": None})
    assert refused["ok"] is False and refused["timeToAct"] is None
    within = limiter(ingress, unique, "State")  # what was read came back within the bounds
    assert within["limit"] in (0, 1_000_000) and within["burst"] <= 1_000_000_000
    assert limiter(ingress, unique, "Tokens") <= 1
    assert limiter(ingress, unique, "SetRate", {"limit": 1, "burst": 1})["limit"] == 1
    assert_key_is_free(ingress, admin, unique)


def test_an_unreadable_state_is_a_terminal_error_not_a_retry(
    harness: Harness, ingress: Ingress, admin: Admin, unique: str
) -> None:
    harness.service("ratelimit")
    limiter(ingress, unique, "SetRate", {"limit": 1, "burst": 1})
    plant(admin, unique, {"limit": "fast", "burst": -1})
    response = ingress.raw("Limiter", "ReserveN", NORMAL, key=unique, timeout=QUICK)
    assert response.status_code == 500 and "unreadable state" in response.json()["message"], response.text
    assert all(row["status"] == "completed" for row in invocations(admin, unique))
