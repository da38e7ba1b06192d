"""Hostile requests to the scheduling patterns: schedulingtasks (payment reminders on durable
timers), parallelizework (fan-out, fan-in) and cron (jobs as self-scheduled calls).

Valid jobs run once a year, and a hostile request that happens to create a job gets it cancelled
at once, so no job fires while the suite runs. Cron expressions get a strategy of their own,
made of the tokens a cron parser knows, so that parser edge cases are reached and not only
bodies that fail to validate.
"""

from __future__ import annotations

import json

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from toolkit.testing import Harness

from .checker import Probe, Target, segment
from .profile import TIMEOUT, examples
from .strategies import Request
from .suite import handler_tests

pytestmark = [pytest.mark.e2e, pytest.mark.hostile, TIMEOUT]

PAYMENT = {
    "type": "invoice.payment_failed",
    "created": 1_700_000_000,
    "data": {"id": "in_1", "customer": "cus_1"},
}
JOB = {"cronExpression": "0 0 1 1 *", "service": "TaskService", "method": "ExecuteTask", "payload": "hello"}
EXISTS = frozenset({409})  # Initiate on a key that has a job already


def cancel_created(probe: Probe, key: str | None, response: httpx.Response) -> None:
    """A job created by a hostile Create: cancel it before it runs."""
    job = response.json().get("jobId")
    probe.ingress.http.post(f"/CronJob/{segment(job)}/Cancel", timeout=10).raise_for_status()


def cancel_initiated(probe: Probe, key: str | None, response: httpx.Response) -> None:
    if key is not None:
        probe.ingress.http.post(f"/CronJob/{segment(key)}/Cancel", timeout=10)


TARGETS = [
    Target("PaymentTracker", "OnPaymentSuccess", PAYMENT, keyed=True),
    Target("PaymentTracker", "OnPaymentFailure", PAYMENT, keyed=True),
    Target("FanOutWorker", "Run", {"description": "a,b,c"}),
    Target("FanOutWorker", "RunSubtask", {"description": "a"}),
    Target("CronJobInitiator", "Create", JOB, cleanup=cancel_created),
    Target("CronJob", "Initiate", JOB, keyed=True, tolerated=EXISTS, cleanup=cancel_initiated),
    Target(
        "CronJob", "Execute", keyed=True, follow_up=(("Initiate", JOB), ("GetInfo", None)), tolerated=EXISTS
    ),
    Target(
        "CronJob",
        "Cancel",
        keyed=True,
        prepare=(("Initiate", JOB),),
        follow_up=(("Initiate", JOB), ("Cancel", None)),
        tolerated=EXISTS,
    ),
    Target("CronJob", "GetInfo", keyed=True, prepare=(("Initiate", JOB),), tolerated=EXISTS),
    Target("TaskService", "ExecuteTask", "a task"),
]
SERVICES = ("PaymentTracker", "FanOutWorker", "CronJobInitiator", "CronJob", "TaskService")


def start(harness: Harness) -> Probe:
    handles = [
        harness.service("schedulingtasks", SCHEDULINGTASKS_EMAIL_SECONDS="0"),
        harness.service(
            "parallelizework", PARALLELIZEWORK_WORK_SECONDS_MIN="0", PARALLELIZEWORK_WORK_SECONDS_MAX="0"
        ),
        harness.service("cron", CRON_TASK_SECONDS="0"),
    ]
    return Probe(harness.ingress, harness.admin, handles, SERVICES)


@pytest.fixture
def probe(harness: Harness) -> Probe:
    return start(harness)


test_no_request_wedges_a_handler, test_no_edge_request_wedges_a_handler = handler_tests(TARGETS)


TOKENS = [
    "*",
    "?",
    "L",
    "W",
    "#",
    "H",
    "-",
    "/",
    ",",
    "*/0",
    "*/-1",
    "0-0",
    "5-1",
    "1/0",
    "L-3",
    "15W",
    "5#6",
]
TOKENS += ["0#1", "MON-SUN", "JAN-DEC", "FEB", "SUN#5", "99", "-1", "2147483648", "9" * 30, "0x10", "½", "٣"]
fields = st.one_of(st.sampled_from(TOKENS), st.integers(-2, 10_000).map(str), st.text(max_size=4))
expressions = st.one_of(
    st.lists(fields, min_size=4, max_size=8).map(" ".join),
    st.sampled_from(["@yearly", "@reboot", "@every 1s", "@", "@daily x", "0 0 0 1 1 * 9999", "0 0 30 2 *"]),
    st.tuples(st.integers(0, 59), st.integers(1900, 10_000)).map(lambda t: f"{t[0]} 0 0 1 1 * {t[1]}"),
)


@st.composite
def job_requests(draw: st.DrawFn) -> tuple[str, Request]:
    """A Create or Initiate whose only odd value is the cron expression."""
    body = json.dumps({**JOB, "cronExpression": draw(expressions)}).encode()
    return draw(st.sampled_from(["Create", "Initiate"])), Request(body)


@examples()
@given(data=st.data())
def test_no_cron_expression_wedges_a_job(probe: Probe, data: st.DataObject) -> None:
    handler, request = data.draw(job_requests(), label="job")
    target = next(t for t in TARGETS if t.handler == handler and t.service.startswith("CronJob"))
    probe.check(target, request)


@pytest.mark.parametrize("name", ["x" * 70_000, "é" * 11_000], ids=["ascii", "percent-encoded"])
def test_a_target_name_longer_than_a_url_is_refused_at_once(probe: Probe, name: str) -> None:
    """The target's name goes into a URL of the admin API: no name may make that step fail."""
    create = next(t for t in TARGETS if t.handler == "Create")
    probe.check(create, Request(json.dumps({**JOB, "service": name}).encode()))
