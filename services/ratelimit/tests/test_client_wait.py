"""The client library's ``wait``, ``wait_n`` and ``cancel``, against the real ``Limiter``.

``Sleeps`` stands in for a handler context with what these methods use: calls and sends go
through the ingress to the real ``Limiter`` object, and sleeps are recorded instead of slept, or
cancelled (the SDK's 409), as when the invocation is cancelled while it waits.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any, cast

import pytest
import restate
from ratelimit.models import LimiterState
from ratelimit.ratelimiter import RateLimiter

from common.ingress import Ingress
from toolkit.testing import Harness
from toolkit.waiting import wait_until

pytestmark = pytest.mark.e2e
run = asyncio.run


class Sleeps:
    def __init__(self, ingress: Ingress, key: str) -> None:
        self.ingress, self.key = ingress, key
        self.cancel_sleeps = False
        self.sleeps: list[timedelta] = []
        self.sent: list[str] = []
        self.limiter = RateLimiter(cast(restate.Context, self), key)

    async def generic_call(self, service: str, handler: str, arg: bytes, key: str | None = None) -> bytes:
        response = await asyncio.to_thread(self.ingress.raw, service, handler, arg or None, key=key)
        if response.status_code >= 400:
            raise restate.TerminalError(response.json()["message"], status_code=response.status_code)
        return response.content

    def generic_send(self, service: str, handler: str, arg: bytes, key: str | None = None, **_: Any) -> None:
        self.ingress.send(service, handler, arg or None, key=key)
        self.sent.append(handler)

    async def sleep(self, delta: timedelta, name: str | None = None) -> None:
        self.sleeps.append(delta)
        if self.cancel_sleeps:
            raise restate.TerminalError("cancelled", status_code=409)

    # The bucket as the server keeps it, read and set beside the library.
    def call(self, handler: str, body: Any = None) -> Any:
        return self.ingress.call("Limiter", handler, body, key=self.key)

    def state(self) -> LimiterState:
        return LimiterState.model_validate(self.call("State"))

    def tokens(self) -> float:
        return float(self.call("Tokens"))


@pytest.fixture
def ctx(harness: Harness, ingress: Ingress, unique: str) -> Sleeps:
    harness.service("ratelimit")
    return Sleeps(ingress, unique)


def refused(use: Coroutine[Any, Any, Any], status: int) -> str:
    with pytest.raises(restate.TerminalError) as error:
        run(use)
    assert error.value.status_code == status, error.value.message
    return str(error.value.message)


def test_wait_sleeps_until_the_time_to_act(ctx: Sleeps) -> None:
    limiter = ctx.limiter
    ctx.call("SetRate", {"limit": 0.5, "burst": 2})  # one token per 2 s
    at_once = run(limiter.wait_n(2))
    assert at_once.ok and at_once.tokens == 2 and ctx.sleeps == []  # the burst needs no sleep
    first, second = run(limiter.wait()), run(limiter.wait())
    assert first.time_to_act and second.time_to_act and first.tokens == second.tokens == 1
    assert ctx.sleeps == [first.time_to_act - first.creation_time, second.time_to_act - second.creation_time]
    assert timedelta(seconds=1) < ctx.sleeps[0] <= timedelta(seconds=2) < ctx.sleeps[1]
    assert (second.time_to_act - first.time_to_act).total_seconds() == pytest.approx(2, abs=1e-3)
    assert ctx.state().last_event == second.time_to_act and ctx.sent == []


def test_wait_refuses_with_a_terminal_429_and_takes_nothing(ctx: Sleeps) -> None:
    limiter = ctx.limiter
    assert "is not configured" in refused(limiter.wait(), 429)
    ctx.call("SetRate", {"limit": 0.5, "burst": 2})
    run(limiter.wait_n(2))
    before = ctx.state()
    assert "exceeds the burst of 2" in refused(limiter.wait_n(3), 429)
    assert "not available within 0.5s" in refused(limiter.wait_n(1, max_future_reserve=0.5), 429)
    assert ctx.state() == before and ctx.sleeps == [] and ctx.sent == []


def test_a_wait_cancelled_while_it_sleeps_gives_its_token_back(ctx: Sleeps) -> None:
    limiter = ctx.limiter
    ctx.call("SetRate", {"limit": 0.01, "burst": 1})  # one token per 100 s: only a give-back is soon
    assert run(limiter.allow()) and ctx.tokens() == pytest.approx(0, abs=0.05)
    ctx.cancel_sleeps = True
    assert "cancelled" in refused(limiter.wait(), 409)  # the cancellation goes on, after the give-back
    assert len(ctx.sleeps) == 1 and ctx.sleeps[0] > timedelta(seconds=90)  # it had reserved a token
    assert ctx.sent == ["CancelReservation"]
    wait_until(lambda: ctx.tokens() > -0.5, timeout=10, what="the cancelled wait's token back")
    assert ctx.tokens() == pytest.approx(0, abs=0.05)


def test_cancel_gives_a_reservations_tokens_back(ctx: Sleeps) -> None:
    limiter = ctx.limiter
    ctx.call("SetRate", {"limit": 0.01, "burst": 1})
    assert run(limiter.allow())
    reservation = run(limiter.reserve())  # acts in about 100 s
    assert reservation.ok and ctx.tokens() == pytest.approx(-1, abs=0.05)
    limiter.cancel(reservation)
    assert ctx.sent == ["CancelReservation"]
    wait_until(lambda: ctx.tokens() > -0.5, timeout=10, what="cancel() to give the token back")
    assert ctx.tokens() == pytest.approx(0, abs=0.05)
