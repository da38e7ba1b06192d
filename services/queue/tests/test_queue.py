"""AsyncTaskWorker against a real Restate server: dedup, delays, bad input, crashes."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from common.ingress import Ingress
from toolkit.testing import Harness, ServiceHandle
from toolkit.waiting import wait_until

pytestmark = pytest.mark.e2e

FAST = {"QUEUE_WORK_SECONDS": "0.1"}


def work_attempts(service: ServiceHandle, task_id: str) -> int:
    return service.ledger.attempts("heavywork", "process", task_id)


def work_effects(service: ServiceHandle, task_id: str) -> int:
    return sum(1 for e in service.ledger.effects("heavywork", "process") if e.key == task_id)


def submit(ingress: Ingress, task_id: str, description: str = "some heavy work", **kwargs: object):
    body = {"id": task_id, "description": description}
    return ingress.send("AsyncTaskWorker", "RunTask", body, idempotency_key=task_id, **kwargs)  # type: ignore[arg-type]


def test_client_submits_attaches_and_prints_the_result(harness: Harness, unique: str) -> None:
    harness.service("queue", **FAST)
    client = Path(sys.executable).with_name("client")
    env = {"RESTATE_INGRESS_URL": harness.server.ingress_url}
    out = subprocess.run(
        [str(client), "queue", "--id", unique, "--description", "some heavy work"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert f"Submitted task {unique}: invocation inv_" in out
    assert f"Task {unique} result: some heavy work: DONE" in out
    again = subprocess.run(
        [str(client), "queue", "--id", unique, "--attach"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert f"Task {unique} result: some heavy work: DONE" in again


def test_resubmitting_a_task_id_runs_the_work_once(harness: Harness, ingress: Ingress, unique: str) -> None:
    service = harness.service("queue", **FAST)
    first = submit(ingress, unique)
    second = submit(ingress, unique)
    assert first.status == "Accepted"
    assert second.status == "PreviouslyAccepted"
    assert second.invocation_id == first.invocation_id
    assert ingress.attach(first.invocation_id) == {"description": "some heavy work: DONE"}
    assert submit(ingress, unique).invocation_id == first.invocation_id
    assert work_attempts(service, unique) == 1
    assert work_effects(service, unique) == 1


def test_a_delayed_task_does_not_start_before_its_delay(
    harness: Harness, ingress: Ingress, unique: str
) -> None:
    service = harness.service("queue", **FAST)
    sent_at = time.time()
    sent = submit(ingress, unique, delay=2.0)
    assert ingress.attach(sent.invocation_id)["description"] == "some heavy work: DONE"
    started_at = service.ledger.first_attempt_at("heavywork", "process", unique)
    assert started_at is not None
    assert started_at >= sent_at + 2.0


@pytest.mark.parametrize(
    ("body", "names"),
    [
        (b'{"id": "x", "description": ', "not valid JSON"),
        (b'{"id": 7, "description": "d"}', "id"),
        (b'{"description": "d"}', "id: Field required"),
        (b'{"id": "x"}', "description: Field required"),
        (b'{"id": "x", "description": "d", "extra": 1}', "extra"),
        (b"[]", "body"),
    ],
)
def test_bad_input_is_a_400_naming_the_problem_and_is_not_retried(
    harness: Harness, ingress: Ingress, body: bytes, names: str
) -> None:
    service = harness.service("queue", **FAST)
    response = ingress.raw("AsyncTaskWorker", "RunTask", body, timeout=10)
    assert response.status_code == 400, response.text
    assert names in response.json()["message"]
    assert work_attempts(service, "x") == 0


@pytest.mark.crash
def test_killing_the_service_mid_task_still_completes_it_once(
    harness: Harness, ingress: Ingress, unique: str
) -> None:
    service = harness.service("queue", QUEUE_WORK_SECONDS="3")
    sent = submit(ingress, unique)
    wait_until(lambda: work_attempts(service, unique) >= 1, timeout=30, what="the work to start")
    service.kill()
    service.restart()
    assert ingress.attach(sent.invocation_id, timeout=60) == {"description": "some heavy work: DONE"}
    assert work_attempts(service, unique) == 2
    assert work_effects(service, unique) == 1


@pytest.mark.crash
def test_a_delayed_task_survives_a_server_crash(harness: Harness, ingress: Ingress, unique: str) -> None:
    service = harness.service("queue", **FAST)
    sent = submit(ingress, unique, delay=3.0)
    harness.server.restart(crash=True)
    assert work_attempts(service, unique) == 0
    assert ingress.attach(sent.invocation_id, timeout=60)["description"] == "some heavy work: DONE"
    assert work_effects(service, unique) == 1
