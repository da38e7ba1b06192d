"""FanOutWorker against a real Restate server: fan-out, fan-in, edge cases, bad input, a crash.

Which subtask invocations a Run started, and when each ran, comes from Restate's own
``sys_invocation`` table: proof of "once each" and "all at once" without timing the test.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from common.ingress import Admin, Ingress
from toolkit.testing import Harness
from toolkit.waiting import wait_until

pytestmark = pytest.mark.e2e

FAST = {"PARALLELIZEWORK_WORK_SECONDS_MIN": "0.1", "PARALLELIZEWORK_WORK_SECONDS_MAX": "0.3"}
ONE_SECOND = {"PARALLELIZEWORK_WORK_SECONDS_MIN": "0.5", "PARALLELIZEWORK_WORK_SECONDS_MAX": "1.5"}
MORNING = "get out of bed,shower,make coffee,have breakfast"


def fan_out(ingress: Ingress, unique: str, description: str) -> tuple[str, str]:
    """Run the task; returns (invocation id of Run, the result's description)."""
    sent = ingress.send("FanOutWorker", "Run", {"description": description}, idempotency_key=unique)
    return sent.invocation_id, ingress.attach(sent.invocation_id, timeout=60)["description"]


def subtasks_of(admin: Admin, run_id: str) -> list[dict[str, Any]]:
    return admin.query(
        "SELECT id, status, completion_result, created_at, completed_at FROM sys_invocation "
        f"WHERE invoked_by_id = '{run_id}' AND target_handler_name = 'RunSubtask'"
    )


def at(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp)


def test_every_part_runs_once_in_order_and_all_at_once(
    harness: Harness, ingress: Ingress, admin: Admin, unique: str
) -> None:
    harness.service("parallelizework", **ONE_SECOND)
    run_id, result = fan_out(ingress, unique, MORNING)
    assert result == "get out of bed: DONE,shower: DONE,make coffee: DONE,have breakfast: DONE"
    subtasks = subtasks_of(admin, run_id)
    assert len(subtasks) == 4
    assert {(s["status"], s["completion_result"]) for s in subtasks} == {("completed", "success")}
    # Every subtask was invoked before any finished: all four were in flight at the same time.
    assert max(at(s["created_at"]) for s in subtasks) < min(at(s["completed_at"]) for s in subtasks)
    (run,) = admin.query(f"SELECT created_at, completed_at FROM sys_invocation WHERE id = '{run_id}'")
    took = at(run["completed_at"]) - at(run["created_at"])
    assert took < sum((at(s["completed_at"]) - at(s["created_at"]) for s in subtasks), timedelta())


@pytest.mark.parametrize(
    ("description", "expected", "parts"),
    [
        ("", "", 0),
        (" , ,", "", 0),
        ("just one thing", "just one thing: DONE", 1),
        (" trim me ,, and me ", "trim me: DONE,and me: DONE", 2),
    ],
)
def test_empty_single_and_messy_descriptions(
    harness: Harness, ingress: Ingress, admin: Admin, unique: str, description: str, expected: str, parts: int
) -> None:
    harness.service("parallelizework", **FAST)
    run_id, result = fan_out(ingress, unique, description)
    assert result == expected
    assert len(subtasks_of(admin, run_id)) == parts


@pytest.mark.parametrize(
    ("handler", "body", "problem"),
    [
        ("Run", b'{"description": ', "not valid JSON"),
        ("Run", {"description": 7}, "description: Input should be a valid string"),
        ("Run", {}, "description: Field required"),
        ("Run", {"description": "a", "extra": 1}, "extra"),
        ("Run", ["a", "b"], "body"),
        ("RunSubtask", {"description": ""}, "description: String should have at least 1 character"),
    ],
)
def test_bad_input_is_a_400_naming_the_problem_and_starts_nothing(
    harness: Harness, ingress: Ingress, admin: Admin, unique: str, handler: str, body: Any, problem: str
) -> None:
    harness.service("parallelizework", **FAST)
    response = ingress.raw("FanOutWorker", handler, body, idempotency_key=unique, timeout=10)
    assert response.status_code == 400, response.text
    assert problem in response.json()["message"]
    (rejected,) = admin.query(
        f"SELECT id, status, completion_result FROM sys_invocation WHERE idempotency_key = '{unique}'"
    )
    assert (rejected["status"], rejected["completion_result"]) == ("completed", "failure")  # at once
    assert subtasks_of(admin, rejected["id"]) == []


@pytest.mark.crash
def test_killing_the_service_mid_fan_out_runs_each_part_once(
    harness: Harness, ingress: Ingress, admin: Admin, unique: str
) -> None:
    service = harness.service(
        "parallelizework", PARALLELIZEWORK_WORK_SECONDS_MIN="3", PARALLELIZEWORK_WORK_SECONDS_MAX="3"
    )
    sent = ingress.send("FanOutWorker", "Run", {"description": "a,b,c"}, idempotency_key=unique)
    wait_until(lambda: len(subtasks_of(admin, sent.invocation_id)) == 3, timeout=30, what="the fan-out")
    service.kill()
    service.restart()
    assert ingress.attach(sent.invocation_id, timeout=60) == {"description": "a: DONE,b: DONE,c: DONE"}
    subtasks = subtasks_of(admin, sent.invocation_id)
    assert len(subtasks) == 3
    assert {(s["status"], s["completion_result"]) for s in subtasks} == {("completed", "success")}
