"""MachineOperator against a real Restate server: answers, ordering, parallelism, failures, crashes."""

from __future__ import annotations

from itertools import pairwise

import pytest

from common.fakes import Effect
from common.ingress import Ingress
from toolkit.testing import Harness, ServiceHandle
from toolkit.waiting import wait_until

pytestmark = pytest.mark.e2e

SECONDS = 0.5
FAST = {"STATEFULACTORS_TRANSITION_SECONDS": str(SECONDS), "STATEFULACTORS_FAILURE__MODE": "off"}


def effects(service: ServiceHandle, op: str, machine: str) -> list[Effect]:
    return [e for e in service.ledger.effects("machines", op) if e.request["machine"] == machine]


def transitions(service: ServiceHandle, machine: str) -> list[tuple[str, float, float]]:
    """``(target, began, completed)`` of each transition of the machine, from the machine API's ledger."""
    completed = {e.key: e.at for e in effects(service, "complete", machine)}
    return [(e.result, e.at, completed[e.key]) for e in effects(service, "begin", machine)]


def send(ingress: Ingress, machine: str, handler: str) -> str:
    return ingress.send("MachineOperator", handler, key=machine).invocation_id


def test_set_up_and_tear_down_answer_and_log_like_the_seed(harness: Harness, ingress: Ingress, unique: str):
    service = harness.service("statefulactors", **FAST)
    calls = ["SetUp", "SetUp", "TearDown", "TearDown"]
    answers = [ingress.call("MachineOperator", handler, key=unique) for handler in calls]
    assert answers == [
        f"{unique} is now up",
        f"{unique} is already up, so nothing to do",
        f"{unique} is now down",
        f"{unique} is not up, cannot tear down",
    ]
    assert [target for target, _, _ in transitions(service, unique)] == ["UP", "DOWN"]
    log = service.process.log_path.read_text()
    for direction in ("up", "down"):
        assert log.count(f"Beginning transition to {direction}: {unique}") == 1
        assert log.count(f"Done transitioning to {direction}: {unique}") == 1


def test_requests_for_one_machine_run_one_at_a_time_in_arrival_order(
    harness: Harness, ingress: Ingress, unique: str
) -> None:
    service = harness.service("statefulactors", **FAST)
    sent = [send(ingress, unique, handler) for handler in ("SetUp", "TearDown", "SetUp", "SetUp")]
    answers = [ingress.attach(invocation) for invocation in sent]
    assert answers == [
        f"{unique} is now up",
        f"{unique} is now down",
        f"{unique} is now up",
        f"{unique} is already up, so nothing to do",
    ]
    done = transitions(service, unique)
    assert [target for target, _, _ in done] == ["UP", "DOWN", "UP"]
    for (_, _, completed), (_, next_began, _) in pairwise(done):
        assert completed <= next_began  # the next transition began after this one completed


def test_two_machines_transition_in_parallel(harness: Harness, ingress: Ingress, unique: str) -> None:
    service = harness.service("statefulactors", **{**FAST, "STATEFULACTORS_TRANSITION_SECONDS": "1"})
    machines = [f"{unique}-a", f"{unique}-b"]
    sent = [send(ingress, machine, "SetUp") for machine in machines]
    assert [ingress.attach(invocation) for invocation in sent] == [f"{m} is now up" for m in machines]
    [(_, began_a, done_a)], [(_, began_b, done_b)] = (transitions(service, m) for m in machines)
    assert done_a - began_a >= 1.0 and done_b - began_b >= 1.0  # each slept its transition time
    assert began_a < done_b and began_b < done_a  # and the two overlapped:
    assert max(done_a, done_b) - min(began_a, began_b) < 2.0  # both done in about one transition time


def test_injected_failures_are_retried_and_each_transition_applies_once(
    harness: Harness, ingress: Ingress, unique: str
) -> None:
    service = harness.service(
        "statefulactors",
        **{**FAST, "STATEFULACTORS_FAILURE__MODE": "first", "STATEFULACTORS_FAILURE__FIRST": "2"},
    )
    assert ingress.call("MachineOperator", "SetUp", key=unique) == f"{unique} is now up"
    assert ingress.call("MachineOperator", "TearDown", key=unique) == f"{unique} is now down"
    for op in ("begin", "complete"):
        assert [e.result for e in effects(service, op, unique)] == ["UP", "DOWN"]
        assert [service.ledger.attempts("machines", op, e.key) for e in effects(service, op, unique)] == [
            3,
            3,
        ]


def test_the_demo_default_fails_at_random_and_still_applies_each_transition_once(
    harness: Harness, ingress: Ingress, unique: str
) -> None:
    service = harness.service("statefulactors", STATEFULACTORS_TRANSITION_SECONDS="0.1")  # 40 % failures
    for machine in (f"{unique}-{n}" for n in range(3)):
        assert ingress.call("MachineOperator", "SetUp", key=machine) == f"{machine} is now up"
        assert ingress.call("MachineOperator", "TearDown", key=machine) == f"{machine} is now down"
        assert [target for target, _, _ in transitions(service, machine)] == ["UP", "DOWN"]


def test_bad_input_is_a_400_and_changes_nothing(harness: Harness, ingress: Ingress, unique: str) -> None:
    service = harness.service("statefulactors", **FAST)
    response = ingress.raw("MachineOperator", "SetUp", {"status": "UP"}, key=unique, timeout=10)
    assert response.status_code == 400, response.text
    assert transitions(service, unique) == []
    assert ingress.call("MachineOperator", "TearDown", key=unique) == f"{unique} is not up, cannot tear down"


@pytest.mark.crash
@pytest.mark.parametrize("crash", ["service", "server"])
def test_a_crash_mid_transition_resumes_it_and_applies_it_once(
    harness: Harness, ingress: Ingress, unique: str, crash: str
) -> None:
    service = harness.service("statefulactors", **{**FAST, "STATEFULACTORS_TRANSITION_SECONDS": "2"})
    sent = send(ingress, unique, "SetUp")
    wait_until(lambda: effects(service, "begin", unique), timeout=30, what="the transition to begin")
    if crash == "service":
        service.kill()  # while the transition sleeps
        service.restart()
    else:
        harness.server.restart(crash=True)
    assert ingress.attach(sent, timeout=60) == f"{unique} is now up"
    [(target, began, completed)] = transitions(service, unique)
    assert target == "UP"
    assert len(effects(service, "complete", unique)) == 1
    assert completed - began >= 2.0  # the sleep kept its deadline through the crash
    assert ingress.call("MachineOperator", "SetUp", key=unique) == f"{unique} is already up, so nothing to do"
