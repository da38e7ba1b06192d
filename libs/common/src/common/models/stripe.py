"""Stripe webhook events, as the router receives them and as ``PaymentTracker`` takes them.

Stripe posts an envelope ``{id, type, created, data: {object: {...}}}`` whose ``data.object`` is
the resource the event is about (an invoice for ``invoice.*`` events) with dozens of fields. The
models require only the fields the services use and ignore the rest, so a real event parses.

``PaymentTracker`` takes the flatter body of the original catalogue's demo,
``{type, created, data: {id, customer}}``; the router translates an invoice event into it
(``PaymentEvent.from_stripe``) and keeps Stripe's event id in ``id``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from common.models.wire import ObjectKey

INVOICE_PAYMENT_FAILED = "invoice.payment_failed"
INVOICE_PAYMENT_SUCCEEDED = "invoice.payment_succeeded"
MAX_TIMESTAMP = 253402300799  # 9999-12-31T23:59:59Z


class StripeEventData(BaseModel):
    model_config = ConfigDict(extra="ignore")

    object: dict[str, Any] = Field(description="the resource of the event; its shape depends on the type")


class StripeEvent(BaseModel):
    """Stripe's webhook envelope. Every event type parses; ``data.object`` is checked per type."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1, description="the event id (evt_...); the same on every retried delivery")
    type: str = Field(min_length=1, description="e.g. invoice.payment_failed")
    created: int = Field(ge=0, le=MAX_TIMESTAMP, description="when Stripe created the event (epoch seconds)")
    data: StripeEventData


class Invoice(BaseModel):
    """What the services use of a Stripe invoice object (``data.object`` of ``invoice.*`` events)."""

    model_config = ConfigDict(extra="ignore")

    id: ObjectKey = Field(description="the invoice id (in_...): the PaymentTracker key")
    customer: str = Field(min_length=1, description="the customer id (cus_...) to remind")


class PaymentEvent(BaseModel):
    """The body of ``PaymentTracker/<invoice>/OnPaymentFailure`` and ``.../OnPaymentSuccess``."""

    model_config = ConfigDict(extra="ignore")

    id: str | None = Field(None, description="the Stripe event id, when the event came through the router")
    type: str = Field(min_length=1)
    created: int = Field(ge=0, le=MAX_TIMESTAMP, description="when the event happened (epoch seconds)")
    data: Invoice

    @classmethod
    def from_stripe(cls, event: StripeEvent, invoice: Invoice) -> PaymentEvent:
        return cls(id=event.id, type=event.type, created=event.created, data=invoice)
