"""The bounds of the limiter's input, without a server: the request models and the client library.

Whatever number a caller sends, reading it either gives a request within the bounds or fails
with a ``ValidationError`` (which the handler turns into a 400 naming the field), never another
exception. The client library checks its arguments the same way and raises a terminal 400
before it calls the limiter, so misuse in a handler is not retried forever either.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
import restate
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from ratelimit.models import (
    MAX_LIMIT,
    MAX_TOKENS,
    MAX_WAIT_SECONDS,
    MIN_LIMIT,
    BatchRequest,
    Reservation,
    ReserveRequest,
    SetRateRequest,
)
from ratelimit.ratelimiter import RateLimiter

anything = (
    st.integers()
    | st.integers(min_value=-(2**200), max_value=2**200)
    | st.floats()
    | st.sampled_from(["inf", "-inf", "nan", "1e999", "1e-300", "2", True, None])
)


RESERVATION = {"ok": True, "creationTime": "2025-01-01T00:00:00Z", "timeToAct": None}


def valid_limit(limit: float) -> bool:
    return limit == 0 or limit == math.inf or MIN_LIMIT <= limit <= MAX_LIMIT


@settings(database=None, deadline=None, max_examples=500)  # no example files in the tree
@given(anything, anything, anything, anything)
def test_any_number_is_read_within_the_bounds_or_refused(n: Any, wait: Any, limit: Any, burst: Any) -> None:
    reads = [
        lambda: ReserveRequest.model_validate({"n": n, "maxFutureReserve": wait}),
        lambda: SetRateRequest.model_validate({"limit": limit, "burst": burst}),
        lambda: BatchRequest.model_validate({"size": n}),
        lambda: Reservation.model_validate(
            {
                "ok": True,
                "tokens": n,
                "creationTime": "2025-01-01T00:00:00Z",
                "timeToAct": None,
                "limit": limit,
            }
        ),
    ]
    for read in reads:
        try:
            request = read()
        except ValidationError:
            continue
        if isinstance(request, ReserveRequest):
            assert 0 <= request.n <= MAX_TOKENS
            bound = request.max_future_reserve
            assert bound is None or 0 <= bound <= MAX_WAIT_SECONDS
        elif isinstance(request, SetRateRequest):
            assert request.limit is None or valid_limit(request.limit)
            assert request.burst is None or 0 <= request.burst <= MAX_TOKENS
        elif isinstance(request, BatchRequest):
            assert 1 <= request.size <= MAX_TOKENS
        else:
            assert isinstance(request, Reservation)
            assert 0 <= request.tokens <= MAX_TOKENS and valid_limit(request.limit)


class Untouchable:
    """A context that fails the test if the client uses it: arguments are checked first."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the client used ctx.{name} with arguments out of bounds")


Call = Callable[[RateLimiter], Coroutine[Any, Any, Any]]


@pytest.mark.parametrize(
    ("use", "argument"),
    [
        (lambda limiter: limiter.allow_n(2**70), "n"),
        (lambda limiter: limiter.allow_n(-1), "n"),
        (lambda limiter: limiter.reserve_n(1, max_future_reserve=1e300), "max_future_reserve"),
        (lambda limiter: limiter.reserve_n(1, max_future_reserve=math.inf), "max_future_reserve"),
        (lambda limiter: limiter.wait_n(MAX_TOKENS + 1), "n"),
        (lambda limiter: limiter.wait_n(1, max_future_reserve=math.nan), "max_future_reserve"),
        (lambda limiter: limiter.set_rate(1e-300, 1), "limit"),
        (lambda limiter: limiter.set_rate(1, 2**70), "burst"),
        (lambda limiter: limiter.set_limit(math.nan), "limit"),
        (lambda limiter: limiter.set_limit(MAX_LIMIT * 2), "limit"),
        (lambda limiter: limiter.set_burst(-1), "burst"),
    ],
)
def test_the_client_refuses_arguments_out_of_bounds_with_a_terminal_400(use: Call, argument: str) -> None:
    limiter = RateLimiter(Untouchable(), "a-limiter")  # type: ignore[arg-type]
    with pytest.raises(restate.TerminalError) as refused:
        asyncio.run(use(limiter))
    assert refused.value.status_code == 400
    assert f"{argument}:" in refused.value.message
