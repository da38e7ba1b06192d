"""What the router refuses: bad signatures (401) and bad events (400); nothing is routed either way."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from webhookcallbacks.client import stripe_event
from webhookcallbacks.signature import sign

from common.ingress import Admin, Ingress
from toolkit.testing import Harness

pytestmark = pytest.mark.e2e

SECRET = "whsec_test"
SIGNED = {"WEBHOOKCALLBACKS_SIGNING_SECRET": SECRET}  # tolerance: the default 300 s
TRACKER = {"SCHEDULINGTASKS_REMINDER_SECONDS": "3600"}


def event(invoice: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(
        stripe_event(f"evt_{invoice}", "invoice.payment_failed", invoice, "c", 1)
    )
    body.update(changes)
    return body


def routed(admin: Admin, invoice: str) -> list[dict[str, Any]]:
    return admin.query(f"SELECT id FROM sys_invocation WHERE target_service_key = '{invoice}'")


def post(ingress: Ingress, body: bytes, signature: str | None) -> tuple[int, str]:
    headers = {"Stripe-Signature": signature} if signature is not None else {}
    response = ingress.raw("WebhookCallbackRouter", "OnStripeEvent", body, headers=headers, timeout=30)
    return response.status_code, response.json()["message"]


@pytest.mark.parametrize(
    ("case", "problem"),
    [
        ("missing", "missing Stripe-Signature header"),
        ("wrong secret", "no Stripe-Signature v1 signature matches the body"),
        ("tampered body", "no Stripe-Signature v1 signature matches the body"),
        ("replayed later", "more than 300s from now"),
        ("not a signature", "no timestamp"),
        ("missing, bad JSON", "missing Stripe-Signature header"),
    ],
)
def test_a_bad_or_missing_signature_is_a_401_and_nothing_is_routed(
    harness: Harness, ingress: Ingress, admin: Admin, unique: str, case: str, problem: str
) -> None:
    harness.service("schedulingtasks", **TRACKER)
    harness.service("webhookcallbacks", **SIGNED)
    body = json.dumps(event(unique)).encode()
    now = int(time.time())
    signature = {
        "missing": None,
        "wrong secret": sign("whsec_other", body, now),
        "tampered body": sign(SECRET, body.replace(b'"c"', b'"cus_evil"'), now),
        "replayed later": sign(SECRET, body, now - 600),
        "not a signature": "v1=abc",
        "missing, bad JSON": None,
    }[case]
    if case == "missing, bad JSON":
        body = b'{"id": '  # checked before the body is parsed: the caller learns nothing about it
    status, message = post(ingress, body, signature)
    assert status == 401
    assert problem in message
    assert routed(admin, unique) == []


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b'{"id": "evt_x", "type": ', "not valid JSON"),
        ({"id": "evt_x", "type": "invoice.payment_failed"}, "created: Field required"),
        ("created", "created: Input should be a valid integer"),
        ("no customer", "data.object.customer: Field required"),
        ("no invoice id", "data.object.id: Field required"),
    ],
)
def test_a_bad_event_is_a_400_naming_the_field_and_nothing_is_routed(
    harness: Harness, ingress: Ingress, admin: Admin, unique: str, body: Any, problem: str
) -> None:
    harness.service("schedulingtasks", **TRACKER)
    harness.service("webhookcallbacks", **SIGNED)
    good = event(unique)
    if body == "created":
        body = {**good, "created": "yesterday"}
    elif body in ("no customer", "no invoice id"):
        good["data"]["object"].pop("customer" if body == "no customer" else "id")
        body = good
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    status, message = post(ingress, raw, sign(SECRET, raw, int(time.time())))
    assert status == 400
    assert problem in message
    assert routed(admin, unique) == []
