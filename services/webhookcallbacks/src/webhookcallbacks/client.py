"""``uv run --package webhookcallbacks client --type invoice.payment_failed --invoice in_1``.

Plays the payment provider: builds a Stripe-style event for an invoice, signs it with
``WEBHOOKCALLBACKS_SIGNING_SECRET`` when that is set (as Stripe does), posts it to
``WebhookCallbackRouter/OnStripeEvent`` and prints the router's answer. ``--deliveries 3``
delivers the same event three times, the way a provider retries.
"""

from __future__ import annotations

import argparse
import json
import secrets
import time

from common.ingress import Ingress
from webhookcallbacks import signature
from webhookcallbacks.settings import Settings


def stripe_event(event_id: str, event_type: str, invoice: str, customer: str, created: int) -> bytes:
    """A minimal Stripe event envelope around an invoice object."""
    body = {
        "id": event_id,
        "object": "event",
        "type": event_type,
        "created": created,
        "livemode": False,
        "data": {"object": {"id": invoice, "object": "invoice", "customer": customer, "amount_due": 1500}},
    }
    return json.dumps(body).encode()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="client", description=__doc__.splitlines()[0])
    parser.add_argument("--type", default="invoice.payment_failed", help="the Stripe event type")
    parser.add_argument("--invoice", required=True, help="the invoice id (the PaymentTracker key)")
    parser.add_argument("--customer", default="cus_J5K2Y4F2eZvKYlo2", help="the customer id")
    parser.add_argument("--event-id", help="the event id (default: a new evt_...)")
    parser.add_argument("--deliveries", type=int, default=1, help="deliver the same event this often")
    args = parser.parse_args(argv)
    settings = Settings()
    event_id = args.event_id or f"evt_{secrets.token_hex(12)}"
    body = stripe_event(event_id, args.type, args.invoice, args.customer, int(time.time()))
    ingress = Ingress(settings.ingress_url)
    failed = False
    try:
        for _ in range(args.deliveries):
            headers = {}
            if settings.signing_secret is not None:
                secret = settings.signing_secret.get_secret_value()
                headers[signature.HEADER] = signature.sign(secret, body, int(time.time()))
            response = ingress.raw("WebhookCallbackRouter", "OnStripeEvent", body, headers=headers)
            print(f"{response.status_code} {response.text}", flush=True)
            failed = failed or response.status_code >= 400
    finally:
        ingress.close()
    return 1 if failed else 0
