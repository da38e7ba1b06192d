"""The Limiter object through Restate's ingress: its handlers, strict input, no-ops, give-backs."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from common.ingress import Ingress
from toolkit.testing import Harness

pytestmark = pytest.mark.e2e


def limiter(ingress: Ingress, key: str, handler: str, body: Any = None) -> Any:
    return ingress.call("Limiter", handler, body, key=key)


def when(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_a_new_limiter_is_empty_and_refuses(harness: Harness, ingress: Ingress, unique: str) -> None:
    harness.service("ratelimit")
    empty = {"limit": 0, "burst": 0, "tokens": 0, "last": None, "lastEvent": None}
    assert limiter(ingress, unique, "State") == empty
    assert limiter(ingress, unique, "Tokens") == 0
    refused = limiter(ingress, unique, "ReserveN", {"n": 1, "maxFutureReserve": None})
    assert refused["ok"] is False and refused["timeToAct"] is None and refused["tokens"] == 0
    assert limiter(ingress, unique, "State") == empty  # a refusal writes nothing


def test_reservations_take_tokens_now_or_in_the_future(
    harness: Harness, ingress: Ingress, unique: str
) -> None:
    harness.service("ratelimit")
    configured = limiter(ingress, unique, "SetRate", {"limit": 1, "burst": 2})
    assert (configured["limit"], configured["burst"], configured["tokens"]) == (1, 2, 2)
    assert limiter(ingress, unique, "Tokens") == 2
    now = limiter(ingress, unique, "ReserveN", {"n": 2, "maxFutureReserve": 0})
    assert now["ok"] and now["tokens"] == 2 and now["timeToAct"] == now["creationTime"]
    assert limiter(ingress, unique, "Tokens") < 1
    before = limiter(ingress, unique, "State")
    assert limiter(ingress, unique, "ReserveN", {"n": 1, "maxFutureReserve": 0})["ok"] is False  # Allow
    assert limiter(ingress, unique, "State") == before
    later = limiter(ingress, unique, "ReserveN", {"n": 1, "maxFutureReserve": 5})
    wait = when(later["timeToAct"]) - when(later["creationTime"])
    assert later["ok"] and timedelta(0) < wait <= timedelta(seconds=1)
    assert limiter(ingress, unique, "State")["lastEvent"] == later["timeToAct"]


def test_set_rate_with_neither_field_is_a_no_op(harness: Harness, ingress: Ingress, unique: str) -> None:
    harness.service("ratelimit")
    limiter(ingress, unique, "SetRate", {"limit": 5, "burst": 3})
    limiter(ingress, unique, "ReserveN", {"n": 2, "maxFutureReserve": None})
    before = limiter(ingress, unique, "State")
    assert limiter(ingress, unique, "SetRate", {}) == before
    assert limiter(ingress, unique, "SetRate", {"limit": None, "burst": None}) == before
    assert limiter(ingress, unique, "State") == before  # not even `last` moved
    burst_only = limiter(ingress, unique, "SetRate", {"burst": 1})
    assert (burst_only["limit"], burst_only["burst"]) == (5, 1) and burst_only["tokens"] <= 1


def test_no_limit_is_the_string_inf_and_grants_everything(
    harness: Harness, ingress: Ingress, unique: str
) -> None:
    harness.service("ratelimit")
    assert limiter(ingress, unique, "SetRate", {"limit": "inf", "burst": 0})["limit"] == "inf"
    granted = limiter(ingress, unique, "ReserveN", {"n": 1000, "maxFutureReserve": 0})
    assert granted["ok"] and granted["limit"] == "inf" and granted["timeToAct"] == granted["creationTime"]
    assert limiter(ingress, unique, "State")["lastEvent"] is None


def test_cancelling_a_reservation_gives_its_tokens_back(
    harness: Harness, ingress: Ingress, unique: str
) -> None:
    harness.service("ratelimit")
    limiter(ingress, unique, "SetRate", {"limit": 0.5, "burst": 1})
    limiter(ingress, unique, "ReserveN", {"n": 1, "maxFutureReserve": None})
    waiting = limiter(ingress, unique, "ReserveN", {"n": 1, "maxFutureReserve": None})
    assert when(waiting["timeToAct"]) - when(waiting["creationTime"]) > timedelta(seconds=1.5)
    assert limiter(ingress, unique, "Tokens") < -0.5
    limiter(ingress, unique, "CancelReservation", waiting)
    restored = limiter(ingress, unique, "State")
    assert -0.1 < restored["tokens"] < 0.5
    limiter(ingress, unique, "CancelReservation", waiting)  # twice: its tokens are not given back again
    assert limiter(ingress, unique, "State")["tokens"] < 0.5


@pytest.mark.parametrize(
    ("handler", "body", "names"),
    [
        ("ReserveN", {"n": "x", "maxFutureReserve": None}, "n: Input should be a valid integer"),
        ("ReserveN", {"n": -1, "maxFutureReserve": None}, "n: Input should be greater than or equal to 0"),
        ("ReserveN", {"n": 1}, "maxFutureReserve: Field required"),
        ("SetRate", {"limit": -1}, "limit: Input should be greater than or equal to 0"),
        ("SetRate", {"limit": "fast"}, "limit: Input should be a valid number"),
        ("SetRate", {"burst": 1.5}, "burst: Input should be a valid integer"),
        ("SetRate", {"rate": 1}, "rate: Extra inputs are not permitted"),
        ("CancelReservation", {"ok": True}, "tokens: Field required"),
        ("SetRate", b"{", "not valid JSON"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_changes_nothing(
    harness: Harness, ingress: Ingress, unique: str, handler: str, body: Any, names: str
) -> None:
    harness.service("ratelimit")
    limiter(ingress, unique, "SetRate", {"limit": 1, "burst": 1})
    before = limiter(ingress, unique, "State")
    response = ingress.raw("Limiter", handler, body, key=unique, timeout=10)
    assert response.status_code == 400, response.text
    assert names in response.json()["message"]
    assert limiter(ingress, unique, "State") == before
