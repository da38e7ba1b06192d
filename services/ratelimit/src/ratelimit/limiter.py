"""The ``Limiter`` virtual object: one token bucket per key, kept in Restate's state.

Restate runs one exclusive handler per key at a time, so reading the bucket, doing the
arithmetic (``bucket``) and writing it back needs no locks. Every change reads the clock with
``ctx.time()``, a durable step: a retried or replayed invocation sees the same "now" and makes
the same decision. Nothing here sleeps; callers wait on their own (``RateLimiter.wait``).

An exception other than ``TerminalError`` would be retried forever and hold up every later call
on the key. So every number of a request is checked against the bounds in ``models`` before the
handler runs (a 400 naming the field), and ``bucket`` answers any state and clock without raising.

    caller --ReserveN{n}--> Limiter/<name>  state: {limit, burst, tokens, last, lastEvent}
       <-- {ok, tokens, creationTime, timeToAct, limit} --+
       ... sleeps until timeToAct, or CancelReservation(reservation) to give the tokens back
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import restate
from pydantic import ValidationError

from common.handlers import describe_validation_error, handler
from ratelimit import bucket
from ratelimit.models import LimiterState, Reservation, ReserveRequest, SetRateRequest

log = restate.getLogger(__name__)

STATE = "state"
CANCELLED = "cancelled"  # reservations already given back, until their time to act


async def load(ctx: restate.ObjectContext | restate.ObjectSharedContext) -> LimiterState:
    """The stored bucket. Any state a version of this object wrote reads (``bucket`` brings it
    within today's bounds); one that does not is a terminal error, as no retry would mend it."""
    try:
        return await ctx.get(STATE, type_hint=LimiterState) or LimiterState()
    except ValidationError as error:
        detail = describe_validation_error(error)
        fix = f"clear it with `restate kv clear Limiter/{ctx.key()}`"
        raise restate.TerminalError(
            f"limiter {ctx.key()!r} has an unreadable state ({detail}): {fix}"
        ) from None


async def now(ctx: restate.Context) -> datetime:
    """The current time, recorded in the journal (the same on every replay)."""
    return datetime.fromtimestamp(await ctx.time(), UTC)


def create_limiter() -> restate.VirtualObject:
    limiter = restate.VirtualObject("Limiter")

    @handler(limiter.handler, name="State", kind="shared")
    async def state(ctx: restate.ObjectSharedContext) -> LimiterState:
        return await load(ctx)

    @handler(limiter.handler, name="Tokens", kind="shared")
    async def tokens(ctx: restate.ObjectSharedContext) -> float:
        return bucket.available(await load(ctx), await now(ctx))

    @handler(limiter.handler, name="ReserveN")
    async def reserve_n(ctx: restate.ObjectContext, request: ReserveRequest) -> Reservation:
        current = await load(ctx)
        at = await now(ctx)
        bound = request.max_future_reserve
        max_wait = None if bound is None else timedelta(seconds=bound)
        updated, reservation = bucket.reserve(current, request.n, at, max_wait)
        if updated is not current:
            ctx.set(STATE, updated)
        wait = bucket.delay(reservation, at)
        if wait is None:
            left = bucket.available(updated, at)
            log.info(
                "Refused %d token(s) of %s (burst %d, %.2f left)", request.n, ctx.key(), updated.burst, left
            )
        else:
            log.info("Reserved %d token(s) of %s: act in %.3fs", request.n, ctx.key(), wait.total_seconds())
        return reservation

    @handler(limiter.handler, name="SetRate")
    async def set_rate(ctx: restate.ObjectContext, request: SetRateRequest) -> LimiterState:
        current = await load(ctx)
        if request.limit is None and request.burst is None:
            return current  # nothing to change: no clock read, no write
        updated = bucket.set_rate(current, await now(ctx), request.limit, request.burst)
        ctx.set(STATE, updated)
        log.info("Limiter %s: limit %g/s, burst %d", ctx.key(), updated.limit, updated.burst)
        return updated

    @handler(limiter.handler, name="CancelReservation")
    async def cancel_reservation(ctx: restate.ObjectContext, reservation: Reservation) -> None:
        current = await load(ctx)
        at = await now(ctx)
        # Remember what was given back until it would have acted, so a second cancel is a no-op.
        given_back = await ctx.get(CANCELLED, type_hint=dict[str, str]) or {}
        given_back = {k: act for k, act in given_back.items() if datetime.fromisoformat(act) >= at}
        ident = f"{reservation.creation_time.isoformat()}/{reservation.tokens}"
        updated = current if ident in given_back else bucket.cancel(current, reservation, at)
        if updated is not current and reservation.time_to_act is not None:
            ctx.set(STATE, updated)
            ctx.set(CANCELLED, {**given_back, ident: reservation.time_to_act.isoformat()})
            log.info("Returned tokens of a cancelled reservation to %s: %.2f now", ctx.key(), updated.tokens)

    return limiter
