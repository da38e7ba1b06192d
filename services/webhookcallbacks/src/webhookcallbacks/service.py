"""Webhook callbacks: a payment provider's events, processed durably and exactly once.

Point Stripe's webhook at ``WebhookCallbackRouter/OnStripeEvent`` on Restate's ingress. Once
Restate has accepted a delivery, it is durable: the router checks the signature (if a secret is
configured), then hands invoice events to the ``PaymentTracker`` of that invoice with a one-way
send and answers at once; it never waits for the tracker. Other event types are acknowledged
and ignored, so the provider does not retry them.

    Stripe --POST (Stripe-Signature)--> Restate --> WebhookCallbackRouter/OnStripeEvent
                                                      | verify signature, else 401
                invoice.payment_failed    --send----> PaymentTracker/<invoice>/OnPaymentFailure
                invoice.payment_succeeded --send----> PaymentTracker/<invoice>/OnPaymentSuccess
                                                      (idempotency key = Stripe event id)

Providers deliver at least once and retry until they see a 2xx. The send carries the Stripe
event id as idempotency key, so Restate starts the tracker once per event however many
deliveries arrive (within the tracker's idempotency retention).
"""

from __future__ import annotations

from typing import Any

import restate
from pydantic import ValidationError

from common.calls import send
from common.handlers import handler
from common.models.stripe import (
    INVOICE_PAYMENT_FAILED,
    INVOICE_PAYMENT_SUCCEEDED,
    Invoice,
    PaymentEvent,
    StripeEvent,
)
from webhookcallbacks import signature
from webhookcallbacks.models import RouteResult
from webhookcallbacks.settings import Settings

log = restate.getLogger(__name__)

ROUTES = {INVOICE_PAYMENT_FAILED: "OnPaymentFailure", INVOICE_PAYMENT_SUCCEEDED: "OnPaymentSuccess"}


def create_services(settings: Settings) -> list[restate.Service]:
    router = restate.Service("WebhookCallbackRouter")
    secret = settings.signing_secret.get_secret_value() if settings.signing_secret else None
    if secret is None:
        log.warning("No WEBHOOKCALLBACKS_SIGNING_SECRET: accepting webhooks without checking signatures")

    async def authenticate(ctx: restate.Context) -> None:
        """Runs before the body is parsed: an unsigned request learns nothing about the schema."""
        if secret is None:
            return
        request = ctx.request()
        now = await ctx.time()  # journaled: a retry judges the timestamp as the first attempt did
        try:
            signature.verify(
                signature.header_of(request.headers),
                request.body,
                secret,
                now=now,
                tolerance=settings.tolerance_seconds,
            )
        except signature.SignatureError as error:
            log.warning("Refused a webhook delivery: %s", error)
            raise restate.TerminalError(f"invalid signature: {error}", status_code=401) from None

    @handler(router.handler, name="OnStripeEvent", before=authenticate)
    async def on_stripe_event(ctx: restate.Context, event: StripeEvent) -> RouteResult:
        target = ROUTES.get(event.type)
        if target is None:
            log.info("Ignoring Stripe event %s of type %s", event.id, event.type)
            return RouteResult(event_id=event.id)
        invoice = _invoice(event.data.object)
        send(
            ctx,
            "PaymentTracker",
            target,
            PaymentEvent.from_stripe(event, invoice),
            key=invoice.id,
            idempotency_key=event.id,
        )
        routed_to = f"PaymentTracker/{invoice.id}/{target}"
        log.info("Routed Stripe event %s (%s) to %s", event.id, event.type, routed_to)
        return RouteResult(event_id=event.id, routed_to=routed_to)

    return [router]


def _invoice(obj: dict[str, Any]) -> Invoice:
    """The invoice of an ``invoice.*`` event, or a 400 naming the missing field."""
    try:
        return Invoice.model_validate(obj)
    except ValidationError as error:
        problems = [
            f"data.object.{'.'.join(str(p) for p in item['loc'])}: {item['msg']}"
            for item in error.errors(include_url=False)
        ]
        raise restate.TerminalError(f"invalid input: {'; '.join(problems)}", status_code=400) from None
