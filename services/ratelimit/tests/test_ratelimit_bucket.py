"""The token-bucket arithmetic, without a server: refill, caps, future reservations, cancellation."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from ratelimit import bucket
from ratelimit.models import INF, LimiterState, Reservation, ReserveRequest, SetRateRequest

T0 = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def configured(limit: float, burst: int) -> LimiterState:
    return bucket.set_rate(LimiterState(), T0, limit, burst)


def test_a_new_limiter_refuses_everything_and_a_configured_one_starts_full() -> None:
    new = LimiterState()
    assert bucket.available(new, T0) == 0
    assert not bucket.reserve(new, 1, T0, None)[1].ok
    state = configured(10, 2)
    assert (state.limit, state.burst, state.tokens, state.last) == (10, 2, 2.0, T0)


def test_tokens_refill_at_the_limit_and_are_capped_at_the_burst() -> None:
    state, _ = bucket.reserve(configured(4, 3), 3, T0, None)
    assert bucket.available(state, T0) == 0
    assert bucket.available(state, at(0.5)) == pytest.approx(2)
    assert bucket.available(state, at(10)) == 3
    assert bucket.available(state, at(-1)) == 0  # a clock that went back adds nothing


def test_reservations_beyond_the_tokens_act_in_the_future_one_interval_apart() -> None:
    state = configured(10, 2)
    acts = []
    for _ in range(5):
        state, reservation = bucket.reserve(state, 1, T0, None)
        assert reservation.ok and reservation.creation_time == T0
        acts.append(reservation.time_to_act)
    assert acts == [T0, T0, at(0.1), at(0.2), at(0.3)]
    assert state.tokens == pytest.approx(-3) and state.last_event == at(0.3)


def test_a_reservation_is_refused_beyond_the_burst_or_the_max_wait_and_changes_nothing() -> None:
    state = configured(1, 2)
    for n, max_wait in [(3, None), (1, timedelta(0))]:
        drained, _ = bucket.reserve(state, 2, T0, None)
        after, refused = bucket.reserve(drained if n == 1 else state, n, T0, max_wait)
        assert not refused.ok and refused.time_to_act is None and refused.tokens == 0
        assert after is (drained if n == 1 else state)
    drained, _ = bucket.reserve(state, 2, T0, None)
    assert bucket.reserve(drained, 1, T0, timedelta(seconds=1))[1].time_to_act == at(1)
    assert not bucket.reserve(configured(0, 1), 2, T0, None)[1].ok  # limit 0: never


def test_no_limit_grants_everything_at_once_and_keeps_the_state() -> None:
    state = configured(INF, 0)
    after, reservation = bucket.reserve(state, 1000, T0, timedelta(0))
    assert reservation.ok and reservation.time_to_act == T0 and after is state
    assert bucket.available(state, at(1)) == 0  # reports the burst: the bucket never runs dry
    assert bucket.cancel(state, reservation, T0) is state


def test_cancelling_the_latest_reservation_restores_its_tokens() -> None:
    state, first = bucket.reserve(configured(1, 1), 1, T0, None)
    state, second = bucket.reserve(state, 1, T0, None)
    assert second.time_to_act == at(1) and bucket.available(state, at(0.5)) == pytest.approx(-0.5)
    restored = bucket.cancel(state, second, at(0.5))
    assert bucket.available(restored, at(0.5)) == pytest.approx(0.5)
    assert restored.last_event == at(1)  # the one before it acted in the past: nothing to move back to
    assert bucket.cancel(state, first, at(0.5)) is state  # already acted: nothing to give back


def test_cancelling_an_earlier_reservation_keeps_the_later_ones_reserved() -> None:
    state = configured(1, 1)
    reservations = []
    for _ in range(3):
        state, reservation = bucket.reserve(state, 1, T0, None)
        reservations.append(reservation)
    restored = bucket.cancel(state, reservations[1], T0)  # acts at +1, one more reserved after it
    assert restored.tokens == pytest.approx(state.tokens)  # 1 token - 1 reserved after it = nothing
    restored = bucket.cancel(state, reservations[2], T0)  # the latest: its token comes back
    assert restored.tokens == pytest.approx(state.tokens + 1)
    assert restored.last_event == at(1)


def test_set_rate_keeps_the_tokens_earned_so_far_and_caps_them_at_a_smaller_burst() -> None:
    state, _ = bucket.reserve(configured(2, 4), 4, T0, None)
    slower = bucket.set_rate(state, at(1), 1, None)
    assert (slower.limit, slower.burst, slower.tokens, slower.last) == (1, 4, pytest.approx(2), at(1))
    smaller = bucket.set_rate(slower, at(5), None, 1)
    assert (smaller.limit, smaller.burst, smaller.tokens) == (1, 1, 1.0)


def test_delay_is_the_time_left_until_the_time_to_act() -> None:
    _, reservation = bucket.reserve(bucket.reserve(configured(2, 1), 1, T0, None)[0], 1, T0, None)
    assert bucket.delay(reservation, T0) == timedelta(seconds=0.5)
    assert bucket.delay(reservation, at(3)) == timedelta(0)
    refused = Reservation(ok=False, tokens=0, creation_time=T0, time_to_act=None, limit=1)
    assert bucket.delay(refused, T0) is None


def test_wire_format_is_camel_case_rfc3339_and_inf_for_no_limit() -> None:
    state, reservation = bucket.reserve(configured(INF, 1), 1, at(0.25), None)
    assert json.loads(state.model_dump_json()) == {
        "limit": "inf",
        "burst": 1,
        "tokens": 1,
        "last": "2025-01-01T12:00:00Z",
        "lastEvent": None,
    }
    assert json.loads(reservation.model_dump_json())["timeToAct"] == "2025-01-01T12:00:00.250000Z"
    assert SetRateRequest.model_validate({"limit": "inf"}).limit == INF
    assert SetRateRequest.model_validate({"limit": 2.5, "burst": 1}).limit == 2.5
    for bad in [{"limit": -1}, {"limit": "fast"}, {"burst": 1.5}, {"rate": 1}]:
        with pytest.raises(ValidationError):
            SetRateRequest.model_validate(bad)
    with pytest.raises(ValidationError, match="maxFutureReserve"):
        ReserveRequest.model_validate({"n": 1})
