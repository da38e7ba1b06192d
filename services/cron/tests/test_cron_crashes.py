"""Cron jobs across crashes: of the service mid-task, and of the Restate server between runs."""

from __future__ import annotations

import math
from datetime import datetime

import pytest

from common.ingress import Ingress
from toolkit.testing import Harness, ServiceHandle
from toolkit.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.crash]


def runs(service: ServiceHandle, payload: str) -> list[float]:
    return [e.at for e in service.ledger.effects("taskrunner", "execute") if e.request["payload"] == payload]


def create(ingress: Ingress, expression: str, payload: str) -> str:
    body = {
        "cronExpression": expression,
        "service": "TaskService",
        "method": "ExecuteTask",
        "payload": payload,
    }
    return str(ingress.call("CronJobInitiator", "Create", body)["jobId"])


def test_killing_the_service_mid_task_runs_the_task_once_and_the_job_goes_on(
    harness: Harness, ingress: Ingress, unique: str
) -> None:
    service = harness.service("cron", CRON_TASK_SECONDS="2")
    job = create(ingress, "* * * * * *", f"{unique}-job")
    sent = ingress.send("TaskService", "ExecuteTask", f"{unique}-task")
    attempts = lambda: service.ledger.attempts("taskrunner", "execute", sent.invocation_id)  # noqa: E731
    wait_until(lambda: attempts() >= 1, timeout=30, what="the task to start")
    service.kill()
    service.restart()
    ingress.attach(sent.invocation_id, timeout=60)
    assert attempts() == 2
    assert len(runs(service, f"{unique}-task")) == 1
    before = len(runs(service, f"{unique}-job"))
    wait_until(lambda: len(runs(service, f"{unique}-job")) >= before + 2, timeout=30, what="the job to go on")
    ingress.call("CronJob", "Cancel", key=job)


def test_a_server_crash_neither_loses_nor_doubles_a_scheduled_run(
    harness: Harness, ingress: Ingress, unique: str
) -> None:
    service = harness.service("cron", CRON_TASK_SECONDS="0")
    job = create(ingress, "*/2 * * * * *", unique)  # every even second
    wait_until(lambda: len(runs(service, unique)) >= 2, timeout=30, what="2 runs")
    pending = datetime.fromisoformat(ingress.call("CronJob", "GetInfo", key=job)["nextExecutionTime"])
    harness.server.restart(crash=True)  # while the next run waits in Restate as a delayed call
    wait_until(lambda: len(runs(service, unique)) >= 5, timeout=30, what="3 more runs")
    ingress.call("CronJob", "Cancel", key=job)
    slots = [2 * math.floor(at / 2) for at in runs(service, unique)]  # the even second of each run
    assert slots == list(range(slots[0], slots[0] + 2 * len(slots), 2))  # none lost, none twice
    assert slots.count(int(pending.timestamp())) == 1  # the run pending during the crash: exactly once
