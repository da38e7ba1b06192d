"""Router and tracker on a real Restate server: routing, duplicates, the client, a router crash."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from webhookcallbacks.client import stripe_event
from webhookcallbacks.signature import sign

from common.fakes import Effect
from common.ingress import Admin, Ingress
from toolkit.testing import Harness, ServiceHandle
from toolkit.waiting import wait_until

pytestmark = pytest.mark.e2e

SECRET = "whsec_test"
SIGNED = {"WEBHOOKCALLBACKS_SIGNING_SECRET": SECRET}
TRACKER = {"SCHEDULINGTASKS_REMINDER_SECONDS": "3600"}  # one reminder per test, no more
RETRYING = "SELECT id FROM sys_invocation WHERE target_service_name = 'WebhookCallbackRouter' AND status = "


def event(invoice: str, event_type: str = "invoice.payment_failed") -> bytes:
    return stripe_event(f"evt_{invoice}", event_type, invoice, "cus_1", int(time.time()))


def deliver(ingress: Ingress, body: bytes, signed: bool = True) -> httpx.Response:
    headers = {"Stripe-Signature": sign(SECRET, body, int(time.time()))} if signed else {}
    return ingress.raw("WebhookCallbackRouter", "OnStripeEvent", body, headers=headers, timeout=30)


def reminders(tracker: ServiceHandle, invoice: str) -> list[Effect]:
    return [e for e in tracker.ledger.effects("email", "send") if e.key.startswith(f"{invoice}/")]


def tracker_invocations(admin: Admin, invoice: str) -> list[dict[str, str]]:
    sql = "SELECT status, invoked_by_service_name AS caller FROM sys_invocation WHERE target_service_key"
    return admin.query(f"{sql} = '{invoice}'")


def idle(admin: Admin, invoice: str) -> bool:
    """Nothing runs for this invoice: every invocation finished or waits for its timer."""
    return {r["status"] for r in tracker_invocations(admin, invoice)} <= {"completed", "scheduled"}


def reminder_count(admin: Admin, invoice: str) -> str | None:
    sql = f"SELECT value_utf8 FROM state WHERE service_key = '{invoice}' AND key = 'reminders_count'"
    return next((row["value_utf8"] for row in admin.query(sql)), None)


@pytest.fixture
def tracker(harness: Harness) -> ServiceHandle:
    return harness.service("schedulingtasks", **TRACKER)


def test_a_failed_payment_goes_to_its_tracker_and_the_router_does_not_wait(
    harness: Harness, ingress: Ingress, tracker: ServiceHandle, unique: str
) -> None:
    harness.service("webhookcallbacks", **SIGNED)
    tracker.kill()  # the tracker is down: the router answers anyway
    response = deliver(ingress, event(unique))
    assert response.status_code == 200, response.text
    assert response.json()["routed_to"] == f"PaymentTracker/{unique}/OnPaymentFailure"
    tracker.restart()
    sent = wait_until(lambda: reminders(tracker, unique), timeout=30, what="the reminder")
    assert [(e.key, e.request["to"]) for e in sent] == [(f"{unique}/reminder-1", "cus_1")]


def test_a_successful_payment_marks_the_invoice_paid(
    harness: Harness, ingress: Ingress, admin: Admin, tracker: ServiceHandle, unique: str
) -> None:
    harness.service("webhookcallbacks", **SIGNED)
    response = deliver(ingress, event(unique, "invoice.payment_succeeded"))
    assert response.json()["routed_to"] == f"PaymentTracker/{unique}/OnPaymentSuccess"
    sql = f"SELECT value_utf8 FROM state WHERE service_key = '{unique}' AND key = 'paid'"
    wait_until(lambda: admin.query(sql) == [{"value_utf8": "true"}], timeout=30, what="paid")


@pytest.mark.parametrize("event_type", ["customer.created", "charge.succeeded", "invoice.created"])
def test_other_event_types_are_acknowledged_and_ignored(
    harness: Harness, ingress: Ingress, admin: Admin, tracker: ServiceHandle, unique: str, event_type: str
) -> None:
    harness.service("webhookcallbacks", **SIGNED)
    body = json.loads(event(unique, event_type))
    del body["data"]["object"]["customer"]  # not every Stripe object has the fields invoices have
    response = deliver(ingress, json.dumps(body).encode())
    assert response.status_code == 200, response.text
    assert response.json() == {"received": True, "event_id": f"evt_{unique}", "routed_to": None}
    assert tracker_invocations(admin, unique) == []


def test_duplicate_deliveries_of_an_event_are_routed_once(
    harness: Harness, ingress: Ingress, admin: Admin, tracker: ServiceHandle, unique: str
) -> None:
    harness.service("webhookcallbacks", **SIGNED)
    body = event(unique)
    assert deliver(ingress, body).status_code == 200
    assert deliver(ingress, body).status_code == 200  # a retry of the provider
    with ThreadPoolExecutor(max_workers=4) as pool:  # and a burst of them
        assert {r.status_code for r in pool.map(lambda _: deliver(ingress, body), range(4))} == {200}
    wait_until(lambda: reminders(tracker, unique), timeout=30, what="the reminder")
    wait_until(lambda: idle(admin, unique), timeout=30, what="the tracker to finish")
    rows = tracker_invocations(admin, unique)
    assert [r["caller"] for r in rows if r["status"] == "completed"] == ["WebhookCallbackRouter"]
    assert reminder_count(admin, unique) == "1"
    assert len(reminders(tracker, unique)) == 1


def test_the_client_signs_and_delivers(harness: Harness, tracker: ServiceHandle, unique: str) -> None:
    harness.service("webhookcallbacks", **SIGNED)
    client = Path(sys.executable).with_name("client")
    env = {"RESTATE_INGRESS_URL": harness.server.ingress_url, **SIGNED}
    args = [str(client), "webhookcallbacks", "--invoice", unique, "--deliveries", "2"]
    out = subprocess.run(args, env=env, capture_output=True, text=True, check=True, timeout=60).stdout
    assert out.count(f'"routed_to":"PaymentTracker/{unique}/OnPaymentFailure"') == 2
    wait_until(lambda: reminders(tracker, unique), timeout=30, what="the reminder")


def test_without_a_secret_unsigned_events_are_routed(
    harness: Harness, ingress: Ingress, tracker: ServiceHandle, unique: str
) -> None:
    harness.service("webhookcallbacks")
    response = deliver(ingress, event(unique), signed=False)
    assert response.json()["routed_to"] == f"PaymentTracker/{unique}/OnPaymentFailure"
    wait_until(lambda: reminders(tracker, unique), timeout=30, what="the reminder")


@pytest.mark.crash
def test_a_delivery_while_the_router_is_down_is_routed_once_it_is_back(
    harness: Harness, ingress: Ingress, admin: Admin, tracker: ServiceHandle, unique: str
) -> None:
    router = harness.service("webhookcallbacks", **SIGNED)
    router.kill()
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(deliver, ingress, event(unique))  # Restate holds it and retries
        wait_until(
            lambda: admin.query(RETRYING + "'backing-off'"), timeout=30, what="Restate to retry the router"
        )
        router.restart()
        assert pending.result(timeout=60).status_code == 200
    wait_until(lambda: reminders(tracker, unique), timeout=30, what="the reminder")
    assert reminder_count(admin, unique) == "1"
