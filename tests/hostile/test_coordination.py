"""Hostile requests to the coordination pattern: ratelimit's ``Limiter`` object and ``LimitedTask``.

Besides the generic hostile requests, the limiter gets numbers and times at and past its bounds
(limits, bursts, waits, RFC 3339 times from year 1 to 9999 with any offset), alone and as a
sequence of calls on one key, since a bucket's arithmetic depends on what it went through.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ratelimit.models import MAX_LIMIT, MAX_TOKENS, MAX_WAIT_SECONDS, MIN_LIMIT

from toolkit.testing import Harness

from .checker import Probe, Target
from .profile import TIMEOUT, examples
from .strategies import Key, Request
from .suite import handler_tests

pytestmark = [pytest.mark.e2e, pytest.mark.hostile, TIMEOUT]

TASK_LIMITER = "hostile-task-limiter"
RATE = {"limit": 10, "burst": 5}
RESERVE = {"n": 2, "maxFutureReserve": None}
RESERVATION = {
    "ok": True,
    "tokens": 1,
    "creationTime": "2024-01-01T00:00:00Z",
    "timeToAct": "2024-01-01T00:00:01Z",
    "limit": 1,
}
CONFIGURED = (("SetRate", RATE),)
TARGETS = [
    Target("Limiter", "State", keyed=True),
    Target("Limiter", "Tokens", keyed=True, prepare=CONFIGURED),
    Target("Limiter", "ReserveN", RESERVE, keyed=True, prepare=CONFIGURED),
    Target("Limiter", "SetRate", RATE, keyed=True),
    Target(
        "Limiter", "CancelReservation", RESERVATION, keyed=True, prepare=(*CONFIGURED, ("ReserveN", RESERVE))
    ),
    Target("LimitedTask", "RunTask"),
    Target("LimitedTask", "RunBatch", {"size": 1}),
]
BY_HANDLER = {t.handler: Target(t.service, t.handler, t.valid, keyed=True) for t in TARGETS[2:5]}


def start(harness: Harness) -> Probe:
    handle = harness.service("ratelimit", RATELIMIT_WORK_SECONDS="0", RATELIMIT_TASK_LIMITER=TASK_LIMITER)
    no_limit = {"limit": "inf", "burst": MAX_TOKENS}
    harness.ingress.call("Limiter", "SetRate", no_limit, key=TASK_LIMITER)  # LimitedTask never waits
    return Probe(harness.ingress, harness.admin, [handle], ("Limiter", "LimitedTask"))


@pytest.fixture
def probe(harness: Harness) -> Probe:
    return start(harness)


test_no_request_wedges_a_handler, test_no_edge_request_wedges_a_handler = handler_tests(TARGETS)


offsets = st.sampled_from(["Z", "+00:00", "+23:59", "-23:59", "+14:00", "-00:01", ""])
moments = st.one_of(
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)).map(
        datetime.isoformat
    ),
    st.sampled_from(["0001-01-01T00:00:00", "9999-12-31T23:59:59.999999", "1970-01-01T00:00:00"]),
    st.floats(-6e10, 2.5e11).map(lambda s: datetime.fromtimestamp(s, UTC).replace(tzinfo=None).isoformat()),
    st.floats(-1e5, 1e5).map(
        lambda s: datetime.fromtimestamp(time.time() + s, UTC).replace(tzinfo=None).isoformat()
    ),
)
times = st.tuples(moments, offsets).map("".join)
numbers = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(),
    st.sampled_from(
        [0, 1, -1, MIN_LIMIT, MIN_LIMIT / 2, MAX_LIMIT, MAX_LIMIT * 2, MAX_TOKENS, MAX_TOKENS + 1]
    ),
    st.sampled_from([MAX_WAIT_SECONDS, MAX_WAIT_SECONDS + 1, 2**53, 2**63, 1e308, "inf", "Infinity", "-inf"]),
)
calls = st.one_of(
    st.fixed_dictionaries({"limit": numbers | st.none(), "burst": numbers | st.none()}).map(
        lambda b: ("SetRate", b)
    ),
    st.fixed_dictionaries({"n": numbers, "maxFutureReserve": numbers | st.none()}).map(
        lambda b: ("ReserveN", b)
    ),
    st.fixed_dictionaries(
        {
            "ok": st.booleans(),
            "tokens": numbers,
            "creationTime": times,
            "timeToAct": times | st.none(),
            "limit": numbers,
        }
    ).map(lambda b: ("CancelReservation", b)),
)


@examples()
@given(sequence=st.lists(calls, min_size=1, max_size=6))
def test_no_sequence_of_bounds_wedges_a_limiter(
    probe: Probe, sequence: list[tuple[str, dict[str, object]]]
) -> None:
    key = Key(f"sequence-{time.time_ns()}")
    for handler, body in sequence:
        probe.check(BY_HANDLER[handler], Request(json.dumps(body).encode(), key=key))
