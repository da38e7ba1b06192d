"""The chaos runner's checks find the breaches they are for.

Each test writes what a broken build would leave behind (a fakes ledger, the answers the
workload got) and asserts that the check names the invariant and the request that broke it;
the same check on the healthy version finds nothing. The end-to-end run is ``tests/test_chaos.py``.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any, TypeVar

import pytest

from common.fakes import Ledger
from toolkit.chaos import records
from toolkit.chaos.calls import Call
from toolkit.chaos.calls_patterns import Tasks
from toolkit.chaos.objects import Reservations
from toolkit.chaos.records import Posts, Record
from toolkit.chaos.timers import REMINDER_SECONDS, Limited, Reminders
from toolkit.chaos.trips import Trips
from toolkit.chaos.workload import Checks, Context, Driver

D = TypeVar("D", bound=Driver)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The ledger's clock, so that the tests say when each effect happened."""
    clock = Clock()
    monkeypatch.setattr("common.fakes.ledger.time", clock)
    return clock


class Admin:
    def __init__(self, rows: list[dict[str, Any]] | None = None) -> None:
        self.rows = rows or []

    def query(self, sql: str) -> list[dict[str, Any]]:
        return self.rows


def driver(kind: type[D], tmp_path: Path, admin: Admin | None = None) -> D:
    ledger = Ledger(tmp_path / "fakes.sqlite")
    ctx = Context("r", 0, None, admin or Admin(), "", {kind.pattern: ledger})  # type: ignore[arg-type]
    return kind(ctx)


def call(pattern: str, target: str, status: int, answer: Any, **expected: Any) -> Call:
    made = Call(pattern, "x", target, 1.0, answered=2.0, status=status, answer=answer, expected=expected)
    made.invocation = f"inv-{target}"
    return made


def found(d: Driver) -> list[tuple[str, str]]:
    checks = Checks()
    d.check(checks)
    return [(f.invariant, f.detail) for f in checks.findings]


def _booked_trip(ledger: Ledger, trip: str, *, car_cancelled: bool) -> None:
    ledger.record("flights", "reserve", f"k1-{trip}", {"passenger_name": trip}, f"F-{trip}")
    ledger.record("cars", "reserve", f"k2-{trip}", {"pickup_location": trip}, f"C-{trip}")
    if car_cancelled:
        ledger.record("cars", "cancel", f"C-{trip}", {}, "CANCELLED")
    ledger.record("flights", "cancel", f"F-{trip}", {}, "CANCELLED")
    ledger.record("payments", "refund", f"p-{trip}", {}, "NOTHING_CHARGED")


@pytest.mark.parametrize("car_cancelled", [True, False])
def test_a_declined_saga_that_kept_its_car_breaks_compensation(tmp_path: Path, car_cancelled: bool) -> None:
    trips = driver(Trips, tmp_path)
    _booked_trip(trips.ledger, "t1", car_cancelled=car_cancelled)
    trips.calls = [call("sagas", "/BookingWorkflow/t1/Run", 422, {}, trip="t1", declined=True, amount=101)]
    findings = found(trips)
    if car_cancelled:
        assert findings == []
    else:
        assert [i for i, _ in findings] == ["saga-compensation"]
        assert "t1 declined" in findings[0][1]


def test_compensations_out_of_order_are_found(tmp_path: Path, clock: Clock) -> None:
    trips = driver(Trips, tmp_path)
    ledger = trips.ledger
    ledger.record("flights", "reserve", "k1", {"passenger_name": "t2"}, "F")
    ledger.record("cars", "reserve", "k2", {"pickup_location": "t2"}, "C")
    ledger.record("flights", "cancel", "F", {}, "CANCELLED")
    clock.now += 1
    ledger.record("cars", "cancel", "C", {}, "CANCELLED")  # the car must go first: it came second
    ledger.record("payments", "refund", "p", {}, "NOTHING_CHARGED")
    trips.calls = [call("sagas", "/BookingWorkflow/t2/Run", 422, {}, trip="t2", declined=True, amount=102)]
    assert [i for i, _ in found(trips)] == ["saga-compensation"]


def test_a_reminder_chain_run_twice_is_found(tmp_path: Path, clock: Clock) -> None:
    reminders = driver(Reminders, tmp_path)
    reminders.invoices = {"i1": "unpaid", "i2": "unpaid"}
    for invoice, gap in (("i1", REMINDER_SECONDS), ("i2", 0.1)):  # i2: two chains, a reminder apart by 0.1 s
        for n in (1, 2, 3):
            reminders.ledger.record("email", "send", f"{invoice}/reminder-{n}", {}, "sent")
            clock.now += gap
        reminders.ledger.record("escalation", "escalate", f"{invoice}/escalation", {}, "case")
        clock.now += 100
    findings = found(reminders)
    assert [i for i, _ in findings] == ["reminders"]
    assert findings[0][1].startswith("i2 (unpaid)")


def test_more_grants_than_the_bucket_holds_are_found(tmp_path: Path) -> None:
    limited = driver(Limited, tmp_path)
    at = ["2026-01-01T00:00:00+00:00", "2026-01-01T00:00:00+00:00", "2026-01-01T00:00:00.500000+00:00"]
    limited.calls = [
        call("ratelimit", f"/LimitedTask/RunTask/{n}", 200, {"grantedAt": t}) for n, t in enumerate(at)
    ]
    for c in limited.calls:
        c.what = "task"
        limited.ledger.record("heavywork", "process", c.invocation or "", {"description": "task"}, "DONE")
    assert found(limited) == []  # burst 2 at 2/s: a third grant 0.5 s after two at once fits (2 + 2 * 0.5)
    limited.calls[2].answer = {"grantedAt": at[0]}
    assert [i for i, _ in found(limited)] == ["limiter-bucket"]


def test_two_winning_reservations_of_one_product_are_found(tmp_path: Path) -> None:
    admin = Admin([{"service_key": "r-hot-0"}])
    reservations = driver(Reservations, tmp_path, admin)
    reservations.products = {"r-hot-0"}
    reservations.calls = [
        call(
            "durablerpc",
            "/ProductService/r-hot-0/Reserve",
            200,
            win,
            product="r-hot-0",
            reservation=f"res-{n}",
            hot=True,
        )
        for n, win in enumerate([True, False, True])
    ]
    assert [i for i, _ in found(reservations)] == ["one-reservation"]


def test_work_done_twice_for_one_task_is_found(tmp_path: Path) -> None:
    tasks = driver(Tasks, tmp_path)
    tasks.calls = [
        call(
            "queue",
            "/AsyncTaskWorker/RunTask",
            200,
            {"description": "work of t1: DONE"},
            task="t1",
            delay=0.0,
        )
    ]
    tasks.ledger.record("heavywork", "process", "a", {"description": "work of t1"}, "work of t1: DONE")
    assert found(tasks) == []
    tasks.ledger.record("heavywork", "process", "b", {"description": "work of t1"}, "work of t1: DONE")
    assert [i for i, _ in found(tasks)] == ["effects-once"]


def test_posts_applied_out_of_order_are_found(
    tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(records, "dead_letters", lambda *args: [])
    posts = driver(Posts, tmp_path)
    user = posts.keys[0]
    posts.records = [Record(user, b"{}", False, f"{user}-post-{n}", delivered=True) for n in (1, 2)]
    ids = itertools.count()
    for content in (f"{user}-post-2", f"{user}-post-1"):  # the second record applied first
        post = f"post-{next(ids)}"
        posts.ledger.record(
            "socialmedia", "create-post", f"req-{post}", {"user": user, "content": content}, post
        )
        posts.ledger.record("socialmedia", "update-feed", post, {"user": user, "post": post}, "UPDATED")
        clock.now += 1
    findings = found(posts)
    assert [i for i, _ in findings] == ["kafka-order"]
    assert "first difference at 0" in findings[0][1]
