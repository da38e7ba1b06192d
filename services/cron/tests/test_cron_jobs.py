"""Cron jobs against a real Restate server: the schedule kept, GetInfo, Cancel, refusals."""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from common.ingress import Admin, Ingress
from toolkit.testing import Harness, ServiceHandle
from toolkit.waiting import wait_until

pytestmark = pytest.mark.e2e

FAST = {"CRON_TASK_SECONDS": "0"}


def create(ingress: Ingress, expression: str, payload: str, **target: Any) -> dict[str, Any]:
    body = {
        "cronExpression": expression,
        "service": "TaskService",
        "method": "ExecuteTask",
        "payload": payload,
    }
    return dict(ingress.call("CronJobInitiator", "Create", {**body, **target}))


def runs(service: ServiceHandle, payload: str) -> list[float]:
    """When the demo task ran for ``payload``, from the task runner's ledger."""
    return [e.at for e in service.ledger.effects("taskrunner", "execute") if e.request["payload"] == payload]


def stays(probe: Any, seconds: float) -> Any:
    """Watch ``probe`` for ``seconds`` and return its value, failing if the value changes."""
    first, deadline = probe(), time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert probe() == first
        time.sleep(0.1)
    return first


def test_a_per_second_job_runs_about_once_a_second(harness: Harness, ingress: Ingress, unique: str) -> None:
    service = harness.service("cron", **FAST)
    created = create(ingress, "* * * * * *", unique)
    first = datetime.fromisoformat(created["nextExecutionTime"])
    assert first.microsecond == 0 and first.timestamp() - time.time() <= 1.0  # on a whole second, soon
    info = ingress.call("CronJob", "GetInfo", key=created["jobId"])
    assert info["nextExecutionTime"] == created["nextExecutionTime"]
    assert info["request"]["cronExpression"] == "* * * * * *"
    wait_until(lambda: len(runs(service, unique)) >= 5, timeout=30, what="5 runs")
    ran = runs(service, unique)
    assert ran[0] >= first.timestamp()
    gaps = [b - a for a, b in itertools.pairwise(ran)]
    assert all(0.5 < gap < 1.5 for gap in gaps), gaps
    assert sum(gaps) / len(gaps) == pytest.approx(1.0, abs=0.1)
    later = ingress.call("CronJob", "GetInfo", key=created["jobId"])
    assert later["nextExecutionTime"] > created["nextExecutionTime"]
    assert later["nextExecutionId"] != info["nextExecutionId"]
    ingress.call("CronJob", "Cancel", key=created["jobId"])


def test_cancel_stops_a_job_for_good(harness: Harness, ingress: Ingress, admin: Admin, unique: str) -> None:
    service = harness.service("cron", **FAST)
    job = create(ingress, "* * * * * *", unique)["jobId"]
    wait_until(lambda: len(runs(service, unique)) >= 2, timeout=30, what="2 runs")
    ingress.call("CronJob", "Cancel", key=job)
    executes = f"SELECT status, completion_result FROM sys_invocation WHERE target = 'CronJob/{job}/Execute'"
    wait_until(
        lambda: all(row["status"] == "completed" for row in admin.query(executes)),
        timeout=30,
        what="no Execute of the job still scheduled",
    )
    busy = "SELECT id FROM sys_invocation WHERE target_service_name = 'TaskService' AND status != 'completed'"
    wait_until(lambda: not admin.query(busy), timeout=30, what="tasks sent before the cancel to finish")
    count = stays(lambda: len(runs(service, unique)), seconds=2.5)
    assert count >= 2
    # The execution pending at the cancel was cancelled, not left to fire and be ignored: every
    # Execute that ran to success called the task once, so there is no successful run too many.
    ran = [row for row in admin.query(executes) if row["completion_result"] == "success"]
    assert len(ran) == count
    for handler in ("GetInfo", "Cancel"):
        response = ingress.raw("CronJob", handler, key=job)
        assert response.status_code == 404 and "not found" in response.json()["message"]
    assert (
        admin.query(f"SELECT key FROM state WHERE service_name = 'CronJob' AND service_key = '{job}'") == []
    )


def test_a_job_can_call_a_virtual_object_by_key(
    harness: Harness, ingress: Ingress, admin: Admin, unique: str
) -> None:
    harness.service("cron", **FAST)
    watched = create(ingress, "0 0 1 1 *", unique)["jobId"]  # once a year: just something to look at
    body = {"cronExpression": "* * * * * *", "service": "CronJob", "method": "GetInfo", "key": watched}
    watcher = ingress.call("CronJobInitiator", "Create", body)["jobId"]
    sql = f"SELECT id FROM sys_invocation WHERE target = 'CronJob/{watched}/GetInfo'"
    wait_until(lambda: len(admin.query(sql)) >= 2, timeout=30, what="2 calls of the object")
    for job in (watcher, watched):
        ingress.call("CronJob", "Cancel", key=job)


def test_a_job_ends_after_the_last_time_its_expression_matches(
    harness: Harness, ingress: Ingress, unique: str
) -> None:
    service = harness.service("cron", **FAST)
    a, b = (datetime.fromtimestamp(time.time() + ahead, UTC) for ahead in (3, 4))
    if (a.minute, a.hour) != (b.minute, b.hour):
        a, b = (datetime.fromtimestamp(time.time() + ahead, UTC) for ahead in (5, 6))
    expression = (
        f"{a.second},{b.second} {a.minute} {a.hour} {a.day} {a.month} * {a.year}"  # two seconds, once
    )
    job = create(ingress, expression, unique)["jobId"]
    wait_until(
        lambda: ingress.raw("CronJob", "GetInfo", key=job).status_code == 404, timeout=30, what="the end"
    )
    assert len(runs(service, unique)) == 2


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"cronExpression": "every day"}, "invalid cron expression 'every day': Exactly 5, 6 or 7 columns"),
        ({"cronExpression": "61 * * * *"}, "out of range"),
        ({"cronExpression": "0 0 31 2 *"}, "invalid cron expression '0 0 31 2 *'"),
        ({"service": "TaskSvc"}, "unknown target service 'TaskSvc'; did you mean 'TaskService'?"),
        ({"method": "executeTask"}, "unknown target handler 'TaskService/executeTask'; did you mean"),
        ({"key": "k"}, "TaskService is a service, not an object: leave out the key"),
        (
            {"service": "CronJob", "method": "GetInfo", "payload": None},
            "CronJob is a VirtualObject: give the key",
        ),
        ({"payload": None}, "TaskService/ExecuteTask needs input"),
        ({"cronExpression": 5}, "cronExpression: Input should be a valid string"),
        ({"method": None}, "method: Input should be a valid string"),
        ({"when": "now"}, "when: Extra inputs are not permitted"),
    ],
)
def test_a_bad_job_is_a_400_saying_why_and_creates_nothing(
    harness: Harness, ingress: Ingress, admin: Admin, change: dict[str, Any], says: str
) -> None:
    harness.service("cron", **FAST)
    count = "SELECT COUNT(*) AS n FROM state WHERE service_name = 'CronJob'"
    before = admin.query(count)
    body = {
        "cronExpression": "* * * * * *",
        "service": "TaskService",
        "method": "ExecuteTask",
        "payload": "x",
    }
    response = ingress.raw("CronJobInitiator", "Create", {**body, **change}, timeout=30)
    assert response.status_code == 400, response.text
    assert says in response.json()["message"]
    assert admin.query(count) == before
