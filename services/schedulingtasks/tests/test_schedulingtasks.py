"""PaymentTracker against a real Restate server: the reminder chain, stopping it, bad input, crashes."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest

from common.fakes import Effect
from common.ingress import Admin, Ingress
from toolkit.testing import Harness, ServiceHandle
from toolkit.waiting import wait_until

pytestmark = pytest.mark.e2e

INTERVAL = 1.0
ENV = {"SCHEDULINGTASKS_REMINDER_SECONDS": str(INTERVAL), "SCHEDULINGTASKS_EMAIL_SECONDS": "1.0"}
CUSTOMER = "cus_J5K2Y4F2eZvKYlo2"
SEED = {
    "type": "customer.subscription_created",
    "created": 1633025000,
    "data": {"id": "evt_1", "customer": CUSTOMER},
}


def reminders(service: ServiceHandle, invoice: str) -> list[Effect]:
    return [e for e in service.ledger.effects("email", "send") if e.key.startswith(f"{invoice}/")]


def escalations(service: ServiceHandle, invoice: str) -> list[Effect]:
    return [e for e in service.ledger.effects("escalation", "escalate") if e.key == f"{invoice}/escalation"]


def state(admin: Admin, invoice: str) -> dict[str, Any]:
    rows = admin.query(
        f"SELECT key, value_utf8 FROM state WHERE service_name = 'PaymentTracker' "
        f"AND service_key = '{invoice}'"
    )
    return {row["key"]: row["value_utf8"] for row in rows}


def statuses(admin: Admin, invoice: str) -> set[str]:
    rows = admin.query(f"SELECT status FROM sys_invocation WHERE target_service_key = '{invoice}'")
    return {row["status"] for row in rows}


def chain_ended(admin: Admin, invoice: str) -> bool:
    """This tracker was invoked, every invocation finished and none is scheduled."""
    return statuses(admin, invoice) == {"completed"}


def post(ingress: Ingress, handler: str, invoice: str) -> None:
    ingress.call("PaymentTracker", handler, SEED, key=invoice)


def test_one_failure_sends_three_reminders_then_escalates_once(
    harness: Harness, ingress: Ingress, admin: Admin, unique: str
) -> None:
    service = harness.service("schedulingtasks", **ENV)
    post(ingress, "OnPaymentFailure", unique)  # the seed's curl body
    wait_until(lambda: chain_ended(admin, unique) and escalations(service, unique), timeout=30, what="chain")
    sent = reminders(service, unique)
    assert [e.key for e in sent] == [f"{unique}/reminder-{n}" for n in (1, 2, 3)]
    assert all(e.request["to"] == CUSTOMER and unique in e.request["subject"] for e in sent)
    times = [e.at for e in sent] + [escalations(service, unique)[0].at]
    assert all(later - earlier >= INTERVAL for earlier, later in pairwise(times))
    assert len(escalations(service, unique)) == 1
    assert state(admin, unique) == {"reminders_count": "3"}


@pytest.mark.parametrize("paid_after", [0, 1, 3])
def test_a_success_at_any_point_stops_the_chain(
    harness: Harness, ingress: Ingress, admin: Admin, unique: str, paid_after: int
) -> None:
    service = harness.service("schedulingtasks", **ENV)
    if paid_after == 0:
        post(ingress, "OnPaymentSuccess", unique)
    post(ingress, "OnPaymentFailure", unique)
    if paid_after:
        wait_until(lambda: len(reminders(service, unique)) == paid_after, timeout=30, what="reminders")
        post(ingress, "OnPaymentSuccess", unique)  # before the next reminder is due
    wait_until(lambda: chain_ended(admin, unique), timeout=30, what="the chain to end")
    assert len(reminders(service, unique)) == paid_after
    assert escalations(service, unique) == []
    assert state(admin, unique)["paid"] == "true"


def test_a_second_failure_event_never_sends_more_reminders_or_escalations(
    harness: Harness, ingress: Ingress, admin: Admin, unique: str
) -> None:
    service = harness.service("schedulingtasks", **ENV)
    for _ in range(2):  # two chains for one invoice
        ingress.send("PaymentTracker", "OnPaymentFailure", SEED, key=unique)
    wait_until(lambda: chain_ended(admin, unique) and escalations(service, unique), timeout=30, what="chains")
    assert len(reminders(service, unique)) == 3
    assert len(escalations(service, unique)) == 1
    assert service.ledger.attempts("escalation", "escalate", f"{unique}/escalation") == 2


@pytest.mark.parametrize(
    ("handler", "body", "names"),
    [
        ("OnPaymentFailure", b'{"type": "x", "created": ', "not valid JSON"),
        ("OnPaymentFailure", b"", "Empty body"),
        ("OnPaymentFailure", {**SEED, "data": {"id": "in_1"}}, "data.customer: Field required"),
        ("OnPaymentFailure", {**SEED, "created": "yesterday"}, "created"),
        ("OnPaymentFailure", {**SEED, "created": 10**20}, "created"),
        ("OnPaymentSuccess", {"created": 1, "data": {"id": "in_1", "customer": "c"}}, "type: Field required"),
    ],
)
def test_bad_input_is_a_400_naming_the_problem_and_changes_nothing(
    harness: Harness, ingress: Ingress, admin: Admin, unique: str, handler: str, body: Any, names: str
) -> None:
    service = harness.service("schedulingtasks", **ENV)
    response = ingress.raw("PaymentTracker", handler, body, key=unique, timeout=10)
    assert response.status_code == 400, response.text
    assert names in response.json()["message"]
    assert statuses(admin, unique) <= {"completed"}  # answered at once, not retried, nothing scheduled
    assert state(admin, unique) == {}
    assert reminders(service, unique) == []


@pytest.mark.crash
def test_reminders_survive_crashes_of_the_service_and_the_server(
    harness: Harness, ingress: Ingress, admin: Admin, unique: str
) -> None:
    service = harness.service("schedulingtasks", **ENV)
    ingress.send("PaymentTracker", "OnPaymentFailure", SEED, key=unique)
    first = f"{unique}/reminder-1"
    wait_until(lambda: service.ledger.attempts("email", "send", first), timeout=30, what="the first email")
    service.kill()  # inside the send-reminder step
    harness.server.restart(crash=True)
    service.restart()
    wait_until(lambda: len(reminders(service, unique)) == 2, timeout=30, what="the second reminder")
    service.kill()  # the third reminder is a pending timer now
    harness.server.restart(crash=True)
    service.restart()
    wait_until(lambda: chain_ended(admin, unique) and escalations(service, unique), timeout=60, what="chain")
    assert [e.key for e in reminders(service, unique)] == [f"{unique}/reminder-{n}" for n in (1, 2, 3)]
    assert service.ledger.attempts("email", "send", first) == 2  # retried, sent once
    assert len(escalations(service, unique)) == 1
    assert state(admin, unique) == {"reminders_count": "3"}
