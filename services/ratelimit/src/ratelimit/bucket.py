"""Token-bucket arithmetic as pure functions: state and the current time in, new state out.

The bucket holds up to ``burst`` tokens and refills at ``limit`` tokens per second. A reservation
takes its tokens at once, even if that drives the count below zero: the deficit is the wait. So
with limit 10 and an empty bucket the next reservation acts in 0.1 s, the one after in 0.2 s, and
so on. Cancelling a reservation that has not acted yet puts back the tokens nobody reserved after
it. The caller supplies ``now`` (read durably by the handler), so replays give the same answers.

    tokens ▲ burst ─ ─ ─ ─ ─ ─ ─ ─ ─ ─
           │ ╲      ╱ refill at `limit`/s
           │  ╲   ╱
         0 ┼───╲╱──────────────────▶ time
           │  reserve n: -n, the deficit / limit = the wait

None of these functions raises, whatever the state, the clock or the (validated) request: a wait
longer than ``MAX_WAIT_SECONDS``, or one that would end past the calendar (year 9999), is a
refusal. Durations are computed as float seconds and compared before a ``timedelta`` is built.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from ratelimit.models import MAX_LIMIT, MAX_TOKENS, MAX_WAIT_SECONDS, MIN_LIMIT, LimiterState, Reservation

# The deepest a bucket can go: a reservation is granted only if the deficit is repaid within
# MAX_WAIT_SECONDS, and no limit repays faster than MAX_LIMIT.
MAX_DEFICIT = MAX_LIMIT * MAX_WAIT_SECONDS


def bounded(state: LimiterState) -> LimiterState:
    """``state`` within today's bounds (a state written before them may lie outside): a limit too
    slow to grant any wait is 0, one too fast ``MAX_LIMIT``; at most ``MAX_TOKENS`` of burst, no
    more tokens than the burst and no deeper deficit than ``MAX_DEFICIT``. The same object when
    it already is: valid requests never lead out of these bounds."""
    limit = state.limit
    if 0 < limit < MIN_LIMIT:
        limit = 0.0
    elif MAX_LIMIT < limit < math.inf:
        limit = MAX_LIMIT
    burst = min(state.burst, MAX_TOKENS)
    tokens = max(min(state.tokens, float(burst)), -MAX_DEFICIT)
    if (limit, burst, tokens) == (state.limit, state.burst, state.tokens):
        return state
    return state.model_copy(update={"limit": limit, "burst": burst, "tokens": tokens})


def tokens_from_duration(limit: float, duration: timedelta) -> float:
    """Tokens that accumulate in ``duration`` at ``limit`` per second."""
    if limit <= 0:
        return 0.0
    if math.isinf(limit):
        return math.inf
    return duration.total_seconds() * limit


def seconds_for(limit: float, tokens: float) -> float:
    """Seconds until ``tokens`` accumulate: 0 if none are missing, infinity if never (limit 0)."""
    if tokens <= 0 or math.isinf(limit):
        return 0.0
    if limit <= 0:
        return math.inf
    return tokens / limit


def shifted(at: datetime, seconds: float) -> datetime | None:
    """``at`` moved by ``seconds`` (finite); ``None`` if that leaves the calendar (years 1-9999)."""
    try:
        return at + timedelta(seconds=seconds)
    except OverflowError:
        return None


def available(state: LimiterState, now: datetime) -> float:
    """Tokens in the bucket at ``now``: those at ``last`` plus the refill since, capped at burst."""
    state = bounded(state)
    if math.isinf(state.limit) or state.last is None:
        return float(state.burst)  # no limit, or a bucket that was never used: full
    elapsed = max(now - state.last, timedelta(0))  # a clock that went back adds nothing
    return min(state.tokens + tokens_from_duration(state.limit, elapsed), float(state.burst))


def reserve(
    state: LimiterState, n: int, now: datetime, max_wait: timedelta | None
) -> tuple[LimiterState, Reservation]:
    """Take ``n`` tokens if that is possible within ``max_wait`` (``None``: ``MAX_WAIT_SECONDS``)."""
    state = bounded(state)
    if math.isinf(state.limit):
        granted = Reservation(ok=True, tokens=n, creation_time=now, time_to_act=now, limit=state.limit)
        return state, granted
    refused = Reservation(ok=False, tokens=0, creation_time=now, time_to_act=None, limit=state.limit)
    if n > state.burst:
        return state, refused
    tokens = available(state, now) - n
    wait = seconds_for(state.limit, -tokens)
    longest = MAX_WAIT_SECONDS if max_wait is None else min(max_wait.total_seconds(), MAX_WAIT_SECONDS)
    act = shifted(now, wait) if wait <= longest else None
    if act is None:
        return state, refused
    latest = act if state.last_event is None else max(state.last_event, act)
    updated = state.model_copy(update={"tokens": tokens, "last": now, "last_event": latest})
    return updated, Reservation(ok=True, tokens=n, creation_time=now, time_to_act=act, limit=state.limit)


def set_rate(state: LimiterState, now: datetime, limit: float | None, burst: int | None) -> LimiterState:
    """Change limit and/or burst from ``now`` on; tokens earned so far were earned at the old rate."""
    state = bounded(state)
    new_limit = state.limit if limit is None else limit
    new_burst = state.burst if burst is None else burst
    tokens = float(new_burst) if state.last is None else min(available(state, now), float(new_burst))
    return state.model_copy(update={"limit": new_limit, "burst": new_burst, "tokens": tokens, "last": now})


def cancel(state: LimiterState, reservation: Reservation, now: datetime) -> LimiterState:
    """Give back the tokens of a reservation that will not act, as far as later ones allow."""
    state = bounded(state)
    act = reservation.time_to_act
    if not reservation.ok or reservation.tokens == 0 or math.isinf(reservation.limit):
        return state
    if act is None or act < now or state.last_event is None:
        return state  # already acted: its tokens are spent
    # Tokens reserved after this one stay reserved; only the rest comes back.
    reserved_after = max(tokens_from_duration(reservation.limit, state.last_event - act), 0.0)
    restore = reservation.tokens - reserved_after
    if restore <= 0:
        return state
    tokens = min(available(state, now) + restore, float(state.burst))
    last_event = state.last_event
    span = seconds_for(reservation.limit, reservation.tokens)
    if act == state.last_event and span <= (act - now).total_seconds():
        # It was the latest: the latest is now the one before it.
        last_event = shifted(act, -span) or last_event
    return state.model_copy(update={"tokens": tokens, "last": now, "last_event": last_event})


def delay(reservation: Reservation, now: datetime) -> timedelta | None:
    """How long the holder must still wait; ``None`` if the reservation was refused."""
    if not reservation.ok or reservation.time_to_act is None:
        return None
    return max(reservation.time_to_act - now, timedelta(0))
