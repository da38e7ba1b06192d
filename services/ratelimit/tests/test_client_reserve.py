"""The client library's reads, ``allow``, ``reserve`` and setters, against the real ``Limiter``.

``Calls`` stands in for a handler context with only ``generic_call``, forwarded through the
ingress to the real ``Limiter`` object: none of these methods may sleep or send (the stand-in has
neither, so trying fails the test). Each test checks the answers against the server's bucket.
"""

from __future__ import annotations

import asyncio
import math
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


class Calls:
    def __init__(self, ingress: Ingress, key: str) -> None:
        self.ingress, self.key = ingress, key
        self.limiter = RateLimiter(cast(restate.Context, self), key)

    async def generic_call(self, service: str, handler: str, arg: bytes, key: str | None = None) -> bytes:
        response = await asyncio.to_thread(self.ingress.raw, service, handler, arg or None, key=key)
        if response.status_code >= 400:
            raise restate.TerminalError(response.json()["message"], status_code=response.status_code)
        return response.content

    # The bucket as the server keeps it, read and set beside the library.
    def call(self, handler: str, body: Any = None) -> Any:
        return self.ingress.call("Limiter", handler, body, key=self.key)

    def state(self) -> LimiterState:
        return LimiterState.model_validate(self.call("State"))


@pytest.fixture
def ctx(harness: Harness, ingress: Ingress, unique: str) -> Calls:
    harness.service("ratelimit")
    return Calls(ingress, unique)


def test_reads_answer_the_bucket_and_the_tokens_available_now(ctx: Calls) -> None:
    limiter = ctx.limiter
    assert run(limiter.state()) == LimiterState() and run(limiter.tokens()) == 0  # never configured
    ctx.call("SetRate", {"limit": 1000, "burst": 5})
    assert run(limiter.state()) == ctx.state() and (run(limiter.limit()), run(limiter.burst())) == (1000, 5)
    ctx.call("ReserveN", {"n": 5, "maxFutureReserve": 0})
    assert run(limiter.state()).tokens == 0  # as of the reservation; refilled since, at 1000/s:
    wait_until(lambda: run(limiter.tokens()) == 5, timeout=10, what="tokens() to show the refill")


def test_allow_takes_tokens_only_when_they_are_there(ctx: Calls) -> None:
    limiter = ctx.limiter
    assert run(limiter.allow()) is False  # an unconfigured limiter has nothing to give
    ctx.call("SetRate", {"limit": 0.01, "burst": 3})  # one token per 100 s: hardly any refill here
    assert run(limiter.allow_n(2)) is True and ctx.state().tokens == pytest.approx(1, abs=0.05)
    before = ctx.state()
    assert run(limiter.allow_n(2)) is False and run(limiter.allow_n(4)) is False
    assert ctx.state() == before  # a refusal takes nothing and books no future
    assert run(limiter.allow()) is True and ctx.state().tokens == pytest.approx(0, abs=0.05)
    before = ctx.state()
    assert run(limiter.allow()) is False
    assert ctx.state() == before


def test_reserve_returns_the_limiters_reservation(ctx: Calls) -> None:
    limiter = ctx.limiter
    ctx.call("SetRate", {"limit": 0.5, "burst": 2})  # one token per 2 s
    now = run(limiter.reserve_n(2))
    assert now.ok and now.tokens == 2 and now.time_to_act == now.creation_time
    first, second = run(limiter.reserve()), run(limiter.reserve())
    assert first.ok and second.ok and first.tokens == second.tokens == 1 and first.limit == 0.5
    assert first.time_to_act and second.time_to_act
    assert timedelta(seconds=1) < first.time_to_act - first.creation_time <= timedelta(seconds=2)
    assert (second.time_to_act - first.time_to_act).total_seconds() == pytest.approx(2, abs=1e-3)
    before = ctx.state()
    assert before.last_event == second.time_to_act and before.tokens == pytest.approx(-2, abs=0.5)
    late = run(limiter.reserve_n(1, max_future_reserve=1))  # the next one acts about 6 s from now
    assert (late.ok, late.tokens, late.time_to_act) == (False, 0, None)
    assert not run(limiter.reserve_n(3)).ok  # more than the burst
    assert ctx.state() == before


def test_set_rate_limit_and_burst_change_exactly_what_they_name(ctx: Calls) -> None:
    limiter = ctx.limiter
    rate = run(limiter.set_rate(0.5, 5))
    assert (rate.limit, rate.burst, rate.tokens) == (0.5, 5, 5) and rate == ctx.state()
    ctx.call("ReserveN", {"n": 4, "maxFutureReserve": 0})
    limit = run(limiter.set_limit(0.01))
    assert (limit.limit, limit.burst) == (0.01, 5) and 1 <= limit.tokens < 2  # kept, not refilled
    assert limit == ctx.state()
    burst = run(limiter.set_burst(3))
    assert (burst.limit, burst.burst, burst.tokens) == (0.01, 3, pytest.approx(limit.tokens, abs=0.05))
    assert burst == ctx.state()
    assert run(limiter.set_limit(math.inf)).burst == 3 and run(limiter.limit()) == math.inf
    assert ctx.call("State")["limit"] == "inf"  # no limit, as it is on the wire
    assert (run(limiter.set_burst(1)).limit, run(limiter.burst())) == (math.inf, 1)
