"""``RateLimiter``: the client library a handler uses to respect a ``Limiter``.

    limiter = RateLimiter(ctx, "LimitedTask-RunTask")
    await limiter.wait()              # reserve one token, sleep durably until it is ours
    if await limiter.allow(): ...     # or: act only if a token is there right now

Every method is a call to the ``Limiter`` object (journaled, so replays do not reserve twice).
``wait_n`` sleeps with ``ctx.sleep``: the wait survives crashes and restarts, and if the
invocation is cancelled while it waits, the reservation is handed back before the cancellation
propagates, so cancelled work does not use up the rate.

Arguments are checked against the same bounds as the ``Limiter``'s input (``models``) before
anything is sent: a bad one is a terminal 400 naming it, never an exception that Restate would
retry forever (on a virtual object, holding up every later call on its key).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, TypeVar

import restate
from pydantic import BaseModel, ValidationError

from common.calls import call, send
from common.handlers import describe_validation_error
from ratelimit import bucket
from ratelimit.models import MAX_WAIT_SECONDS, LimiterState, Reservation, ReserveRequest, SetRateRequest

LIMITER = "Limiter"
M = TypeVar("M", bound=BaseModel)


def checked(model: type[M], **fields: Any) -> M:
    """The request, or a terminal 400 naming the argument that is out of bounds."""
    try:
        return model.model_validate(fields)
    except ValidationError as error:
        message = f"invalid {LIMITER} request: {describe_validation_error(error)}"
        raise restate.TerminalError(message, status_code=400) from None


class RateLimiter:
    def __init__(self, ctx: restate.Context, name: str) -> None:
        self.ctx = ctx
        self.name = name

    async def state(self) -> LimiterState:
        return await call(self.ctx, LIMITER, "State", None, LimiterState, key=self.name)

    async def limit(self) -> float:
        return (await self.state()).limit

    async def burst(self) -> int:
        return (await self.state()).burst

    async def tokens(self) -> float:
        """Tokens available now (negative while reservations wait)."""
        return await call(self.ctx, LIMITER, "Tokens", None, float, key=self.name)

    async def allow(self) -> bool:
        return await self.allow_n(1)

    async def allow_n(self, n: int) -> bool:
        """Take ``n`` tokens if they are there now; never waits. For work you may drop."""
        return (await self.reserve_n(n, max_future_reserve=0.0)).ok

    async def reserve(self) -> Reservation:
        return await self.reserve_n(1)

    async def reserve_n(self, n: int, max_future_reserve: float | None = None) -> Reservation:
        """Reserve ``n`` tokens; ``timeToAct`` says when to act. ``ok`` is false if ``n`` exceeds
        the burst or the wait would exceed ``max_future_reserve`` seconds (``None``: a year)."""
        request = checked(ReserveRequest, n=n, max_future_reserve=max_future_reserve)
        return await call(self.ctx, LIMITER, "ReserveN", request, Reservation, key=self.name)

    def cancel(self, reservation: Reservation) -> None:
        """Give a reservation's tokens back (one-way: it does not wait for the limiter)."""
        send(self.ctx, LIMITER, "CancelReservation", reservation, key=self.name)

    async def wait(self) -> Reservation:
        return await self.wait_n(1)

    async def wait_n(self, n: int, max_future_reserve: float | None = None) -> Reservation:
        """Reserve ``n`` tokens and sleep until they are ours. A refusal is a terminal 429."""
        reservation = await self.reserve_n(n, max_future_reserve)
        if not reservation.ok:
            raise restate.TerminalError(await self._refusal(n, max_future_reserve), status_code=429)
        wait = bucket.delay(reservation, reservation.creation_time) or timedelta(0)
        if wait > timedelta(0):
            try:
                await self.ctx.sleep(wait, name="wait-for-tokens")
            except restate.TerminalError:  # the invocation was cancelled while waiting
                self.cancel(reservation)
                raise
        return reservation

    async def set_rate(self, limit: float, burst: int) -> LimiterState:
        return await self._set(checked(SetRateRequest, limit=limit, burst=burst))

    async def set_limit(self, limit: float) -> LimiterState:
        return await self._set(checked(SetRateRequest, limit=limit))

    async def set_burst(self, burst: int) -> LimiterState:
        return await self._set(checked(SetRateRequest, burst=burst))

    async def _set(self, request: SetRateRequest) -> LimiterState:
        return await call(self.ctx, LIMITER, "SetRate", request, LimiterState, key=self.name)

    async def _refusal(self, n: int, max_future_reserve: float | None) -> str:
        state = await self.state()
        where = f"rate limiter {self.name!r}"
        if state.limit == 0 and state.burst == 0:
            return f"{where} is not configured: set its rate first (Limiter/{self.name}/SetRate)"
        if n > state.burst:
            return f"wait for {n} token(s) exceeds the burst of {state.burst} of {where}"
        if state.limit == 0:
            return f"{where} has limit 0: the tokens would never be available"
        within = MAX_WAIT_SECONDS if max_future_reserve is None else max_future_reserve
        return f"{n} token(s) of {where} are not available within {within}s"
