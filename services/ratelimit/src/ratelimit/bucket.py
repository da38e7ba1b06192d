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
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from ratelimit.models import LimiterState, Reservation


def tokens_from_duration(limit: float, duration: timedelta) -> float:
    """Tokens that accumulate in ``duration`` at ``limit`` per second."""
    if limit <= 0:
        return 0.0
    if math.isinf(limit):
        return math.inf
    return duration.total_seconds() * limit


def duration_from_tokens(limit: float, tokens: float) -> timedelta | None:
    """How long ``tokens`` take to accumulate; ``None`` when they never will (limit 0)."""
    if tokens <= 0 or math.isinf(limit):
        return timedelta(0)
    if limit <= 0:
        return None
    return timedelta(seconds=tokens / limit)


def available(state: LimiterState, now: datetime) -> float:
    """Tokens in the bucket at ``now``: those at ``last`` plus the refill since, capped at burst."""
    if math.isinf(state.limit) or state.last is None:
        return float(state.burst)  # no limit, or a bucket that was never used: full
    elapsed = now - min(state.last, now)
    return min(state.tokens + tokens_from_duration(state.limit, elapsed), float(state.burst))


def reserve(
    state: LimiterState, n: int, now: datetime, max_wait: timedelta | None
) -> tuple[LimiterState, Reservation]:
    """Take ``n`` tokens if that is possible within ``max_wait`` (``None``: any wait)."""
    if math.isinf(state.limit):
        granted = Reservation(ok=True, tokens=n, creation_time=now, time_to_act=now, limit=state.limit)
        return state, granted
    tokens = available(state, now) - n
    wait = duration_from_tokens(state.limit, -tokens)
    if n > state.burst or wait is None or (max_wait is not None and wait > max_wait):
        refused = Reservation(ok=False, tokens=0, creation_time=now, time_to_act=None, limit=state.limit)
        return state, refused
    act = now + wait
    latest = act if state.last_event is None else max(state.last_event, act)
    updated = state.model_copy(update={"tokens": tokens, "last": now, "last_event": latest})
    return updated, Reservation(ok=True, tokens=n, creation_time=now, time_to_act=act, limit=state.limit)


def set_rate(state: LimiterState, now: datetime, limit: float | None, burst: int | None) -> LimiterState:
    """Change limit and/or burst from ``now`` on; tokens earned so far were earned at the old rate."""
    new_limit = state.limit if limit is None else limit
    new_burst = state.burst if burst is None else burst
    tokens = float(new_burst) if state.last is None else min(available(state, now), float(new_burst))
    return state.model_copy(update={"limit": new_limit, "burst": new_burst, "tokens": tokens, "last": now})


def cancel(state: LimiterState, reservation: Reservation, now: datetime) -> LimiterState:
    """Give back the tokens of a reservation that will not act, as far as later ones allow."""
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
    span = duration_from_tokens(reservation.limit, reservation.tokens)
    if act == state.last_event and span is not None and act - span >= now:
        last_event = act - span  # it was the latest: the latest is now the one before it
    return state.model_copy(update={"tokens": tokens, "last": now, "last_event": last_event})


def delay(reservation: Reservation, now: datetime) -> timedelta | None:
    """How long the holder must still wait; ``None`` if the reservation was refused."""
    if not reservation.ok or reservation.time_to_act is None:
        return None
    return max(reservation.time_to_act - now, timedelta(0))
