"""Payment reminders with durable timers.

``PaymentTracker`` is a virtual object keyed by invoice id. A failed payment sends the customer a
reminder and schedules the same handler again for later: a one-way send to itself with a delay.
Restate keeps that timer, so it fires even if the service or the server restarted meanwhile.
After three reminders the next failure goes to a human instead. A successful payment marks the
invoice paid, and the next scheduled call finds it paid and ends the chain.

    OnPaymentFailure --> paid? stop
          |          --> reminders < 3: count +1, send-reminder, send self (after interval) --+
          |          --> else: escalate                                                       |
          +<-------------------------------- Restate timer ------------------------------------+
    OnPaymentSuccess --> paid = true

Each reminder's email is keyed by invoice and reminder number, the escalation by invoice: a
retry after a crash, or a second chain started by another failure event, never sends twice.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import restate

from common.calls import send
from common.fakes import Ledger
from common.fakes.email import EmailApi
from common.fakes.escalation import EscalationApi
from common.handlers import handler
from common.models.stripe import PaymentEvent
from schedulingtasks.settings import Settings

log = restate.getLogger(__name__)

MAX_REMINDERS = 3


def create_services(settings: Settings) -> list[restate.VirtualObject]:
    ledger = Ledger(settings.fakes_db)
    email = EmailApi(ledger, failure=settings.failure, latency=settings.email_seconds)
    desk = EscalationApi(ledger, failure=settings.failure)
    interval = timedelta(seconds=settings.reminder_seconds)
    # The router sends with the Stripe event id as idempotency key; Stripe retries for days.
    retention = timedelta(days=settings.dedupe_days)
    tracker = restate.VirtualObject("PaymentTracker", idempotency_retention=retention)

    @handler(tracker.handler, name="OnPaymentSuccess")
    async def on_payment_success(ctx: restate.ObjectContext, event: PaymentEvent) -> None:
        ctx.set("paid", True)
        log.info("Invoice %s is paid", ctx.key())

    @handler(tracker.handler, name="OnPaymentFailure")
    async def on_payment_failure(ctx: restate.ObjectContext, event: PaymentEvent) -> None:
        invoice = ctx.key()
        if await ctx.get("paid", type_hint=bool):
            log.info("Invoice %s is paid: no more reminders", invoice)
            return
        count = (await ctx.get("reminders_count", type_hint=int) or 0) + 1
        if count <= MAX_REMINDERS:
            ctx.set("reminders_count", count)
            log.info("Sending reminder %d of %d for invoice %s", count, MAX_REMINDERS, invoice)
            await ctx.run_typed(
                "send-reminder",
                email.send,
                key=f"{invoice}/reminder-{count}",
                to=event.data.customer,
                subject=f"Reminder {count}: invoice {invoice} is unpaid",
                body=f"The payment of invoice {invoice} failed on {_day(event.created)}. Please pay it.",
            )
            send(ctx, "PaymentTracker", "OnPaymentFailure", event, key=invoice, delay=interval)
        else:
            log.info("Escalating invoice %s to a human after %d reminders", invoice, MAX_REMINDERS)
            await ctx.run_typed(
                "escalate",
                desk.escalate,
                key=f"{invoice}/escalation",
                subject=f"Invoice {invoice} of {event.data.customer} is still unpaid",
                details=f"{MAX_REMINDERS} reminders sent; the payment failed first on {_day(event.created)}.",
            )

    return [tracker]


def _day(created: int) -> str:
    return datetime.fromtimestamp(created, UTC).strftime("%Y-%m-%d")
