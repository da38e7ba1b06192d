"""Properties of the bucket arithmetic: no state, clock or valid request makes it raise.

An exception in a ``Limiter`` handler would be retried forever and hold up its key, so every
function must answer for any stored state (including what versions before the bounds wrote:
limit 1e-300, burst 2**70, ...), any clock from year 1 to 9999, and any request within the
bounds: a refusal at worst, a state that reads back, a wait that ``ctx.sleep`` can take.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import example, given, settings
from hypothesis import strategies as st
from ratelimit import bucket
from ratelimit.models import (
    MAX_LIMIT,
    MAX_TOKENS,
    MAX_WAIT_SECONDS,
    MIN_LIMIT,
    LimiterState,
    Reservation,
    ReserveRequest,
    SetRateRequest,
)

EXAMPLES = settings(database=None, deadline=None, max_examples=300)  # no example files in the tree

ZONES = [UTC, timezone(timedelta(hours=14)), timezone(-timedelta(hours=12)), timezone(timedelta(minutes=330))]
LATE = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
EDGES = [datetime(1, 1, 1, tzinfo=UTC), LATE]  # the calendar's ends: a clock far back or far ahead
times = st.datetimes(timezones=st.sampled_from(ZONES)) | st.sampled_from(EDGES)
# What any version may have stored: before the bounds, any limit >= 0 and any burst got through.
stored_states = st.builds(
    LimiterState,
    limit=st.floats(min_value=0, allow_nan=False),
    burst=st.integers(min_value=0, max_value=10**400),
    tokens=st.floats(allow_nan=False, allow_infinity=False),
    last=st.none() | times,
    last_event=st.none() | times,
)
limits = st.sampled_from([0.0, math.inf, MIN_LIMIT, MAX_LIMIT]) | st.floats(MIN_LIMIT, MAX_LIMIT)
counts = st.integers(0, MAX_TOKENS)
waits = st.none() | st.floats(0, MAX_WAIT_SECONDS)
reservations = st.builds(
    lambda **fields: Reservation(**fields),
    ok=st.booleans(),
    tokens=counts,
    creation_time=times,
    time_to_act=st.none() | times,
    limit=limits,
)


def reads_back(state: LimiterState) -> None:
    """What a handler writes is what the next one reads, and within today's bounds."""
    assert LimiterState.model_validate_json(state.model_dump_json()) == state
    assert bucket.bounded(state) == state and math.isfinite(state.tokens)


def max_wait(seconds: float | None) -> timedelta | None:
    """As the handler passes it on, from a validated request."""
    request = ReserveRequest(n=0, max_future_reserve=seconds)
    bound = request.max_future_reserve
    return None if bound is None else timedelta(seconds=bound)


@EXAMPLES
@given(stored_states, counts, times, waits)
@example(LimiterState(limit=1e-300, burst=1, tokens=0.0, last=LATE), 1, LATE, None)
@example(LimiterState(limit=1, burst=1, tokens=0.0, last=LATE), 1, LATE, None)  # acts past year 9999
@example(LimiterState(limit=MIN_LIMIT, burst=MAX_TOKENS), MAX_TOKENS, LATE, MAX_WAIT_SECONDS)
@example(LimiterState(limit=1e308, burst=2**70, tokens=-1e308, last=LATE), 2**20, LATE, 0.0)
def test_a_reservation_is_granted_within_the_wait_or_refused_never_an_error(
    state: LimiterState, n: int, now: datetime, wait: float | None
) -> None:
    updated, reservation = bucket.reserve(state, n, now, max_wait(wait))
    reads_back(updated)
    assert Reservation.model_validate_json(reservation.model_dump_json()) == reservation  # can be handed back
    longest = timedelta(seconds=MAX_WAIT_SECONDS if wait is None else wait)
    delay = bucket.delay(reservation, now)
    if reservation.ok:
        assert delay is not None and delay <= longest + timedelta(microseconds=1)
    else:
        assert delay is None and reservation.tokens == 0 and updated == bucket.bounded(state)
    assert math.isfinite(bucket.available(updated, now))


@EXAMPLES
@given(stored_states, times, st.none() | limits, st.none() | counts)
@example(LimiterState(limit=1e-300, burst=2**70, tokens=-1e300, last=LATE), LATE, MIN_LIMIT, MAX_TOKENS)
def test_set_rate_answers_any_state(
    state: LimiterState, now: datetime, limit: float | None, burst: int | None
) -> None:
    request = SetRateRequest(limit=limit, burst=burst)
    updated = bucket.set_rate(state, now, request.limit, request.burst)
    reads_back(updated)
    assert bucket.available(updated, now) <= updated.burst


@EXAMPLES
@given(stored_states, reservations, times)
@example(
    LimiterState(limit=MIN_LIMIT, burst=MAX_TOKENS, tokens=-1e9, last_event=LATE),
    Reservation(ok=True, tokens=MAX_TOKENS, creation_time=LATE, time_to_act=LATE, limit=MIN_LIMIT),
    datetime(1, 1, 1, tzinfo=UTC),
)
def test_cancelling_any_reservation_answers_any_state(
    state: LimiterState, reservation: Reservation, now: datetime
) -> None:
    updated = bucket.cancel(state, reservation, now)
    reads_back(updated)
    assert bucket.available(updated, now) <= updated.burst


operations = st.lists(
    st.tuples(st.sampled_from(["reserve", "cancel", "set_rate"]), counts, waits, limits, st.floats(0, 1e6)),
    max_size=30,
)


@EXAMPLES
@given(operations, times)
def test_any_sequence_of_valid_requests_keeps_every_wait_sleepable(ops: list, start: datetime) -> None:
    state, now, held = LimiterState(), start, []
    for op, n, wait, limit, seconds_later in ops:
        now = bucket.shifted(now, seconds_later) or now
        if op == "reserve":
            state, reservation = bucket.reserve(state, n, now, max_wait(wait))
            held.append(reservation)
            delay = bucket.delay(reservation, now)
            assert delay is None or delay <= timedelta(seconds=MAX_WAIT_SECONDS, microseconds=1)
        elif op == "cancel" and held:
            state = bucket.cancel(state, held.pop(n % len(held)), now)
        elif op == "set_rate":
            state = bucket.set_rate(state, now, limit, n)
        reads_back(state)
