"""Drivers of the patterns that wait or repeat: reminder chains (called directly and routed from
webhooks) and the rate limiter."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import datetime
from typing import ClassVar

from toolkit.chaos.calls import path
from toolkit.chaos.workload import Checks, Driver

REMINDER_SECONDS = 2.0
MAX_REMINDERS = 3


def _event(kind: str, invoice: str, event_id: str | None = None) -> dict[str, object]:
    event: dict[str, object] = {"type": kind, "created": 1_700_000_000}
    if event_id is None:  # PaymentTracker's own shape
        event["data"] = {"id": invoice, "customer": "cus_chaos"}
    else:  # Stripe's envelope, for the router
        event.update(id=event_id, data={"object": {"id": invoice, "customer": "cus_chaos"}})
    return event


class Reminders(Driver):
    """``PaymentTracker`` chains: a failure alone (3 reminders, then 1 escalation), a success
    first (nothing), a success some time into the chain (it stops)."""

    pattern = "schedulingtasks"
    env: ClassVar[dict[str, str]] = {
        "SCHEDULINGTASKS_REMINDER_SECONDS": str(REMINDER_SECONDS),
        "SCHEDULINGTASKS_EMAIL_SECONDS": "0.05",
        "SCHEDULINGTASKS_FAILURE__MODE": "random",
        "SCHEDULINGTASKS_FAILURE__RATE": "0.1",
    }

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.invoices: dict[str, str] = {}  # invoice -> "unpaid", "paid-first" or "paid-later"

    async def step(self, n: int) -> None:
        invoice = self.key("invoice", n)
        kind = self.rng.choice(["unpaid", "unpaid", "paid-first", "paid-later"])
        self.invoices[invoice] = kind
        failed, paid = (path("PaymentTracker", h, invoice) for h in ("OnPaymentFailure", "OnPaymentSuccess"))
        failure, success = (
            _event("invoice.payment_failed", invoice),
            _event("invoice.payment_succeeded", invoice),
        )
        if kind == "paid-first":
            await self.invoke("paid", paid, success, idempotency_key=f"ok-{invoice}")
        await self.invoke("failed", failed, failure, idempotency_key=f"failed-{invoice}")
        if kind == "paid-later":
            await asyncio.sleep(self.rng.uniform(0, MAX_REMINDERS * REMINDER_SECONDS))
            await self.invoke("paid", paid, success, idempotency_key=f"ok-{invoice}")

    def check(self, checks: Checks) -> None:
        self.answered(checks)
        chains(self, checks, self.invoices)


class Webhooks(Driver):
    """Stripe events through ``WebhookCallbackRouter/OnStripeEvent``, each delivered one to three
    times (providers retry; a retry after a crash is one more): routed once each."""

    pattern = "webhookcallbacks"
    needs = "schedulingtasks"

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.invoices: dict[str, str] = {}

    async def step(self, n: int) -> None:
        invoice = self.key("hooked", n)
        kind = self.rng.choice(["unpaid", "unpaid", "paid-first"])
        self.invoices[invoice] = kind
        route = path("WebhookCallbackRouter", "OnStripeEvent")
        for event_type in (["invoice.payment_succeeded"] if kind == "paid-first" else []) + [
            "invoice.payment_failed"
        ]:
            event = _event(event_type, invoice, f"evt-{invoice}-{event_type}")
            deliveries = self.rng.randint(1, 3)
            await asyncio.gather(*(self.invoke("webhook", route, event) for _ in range(deliveries)))

    def check(self, checks: Checks) -> None:
        self.answered(checks, ok=200)
        chains(self, checks, self.invoices, ledger=self.ctx.ledgers["schedulingtasks"])


def chains(driver: Driver, checks: Checks, invoices: dict[str, str], ledger=None) -> None:
    """The reminder chain of each invoice, from the email and escalation ledgers and its state."""
    ledger = ledger or driver.ledger
    mails = defaultdict(list)
    for effect in ledger.effects("email", "send"):
        mails[effect.key.rsplit("/", 1)[0]].append(effect)
    escalated = defaultdict(list)
    for effect in ledger.effects("escalation", "escalate"):
        escalated[effect.key.rsplit("/", 1)[0]].append(effect)
    for invoice, kind in invoices.items():
        sent = sorted(mails[invoice], key=lambda e: e.at)
        up = escalated[invoice]
        gaps = [round(b.at - a.at, 2) for a, b in zip(sent, [*sent, *up][1:], strict=False)]
        spaced = all(g >= REMINDER_SECONDS * 0.9 for g in gaps)
        if kind == "unpaid":
            ok = len(sent) == MAX_REMINDERS and len(up) == 1 and spaced
        elif kind == "paid-first":
            ok = not sent and not up
        else:
            ok = (
                len(sent) <= MAX_REMINDERS
                and len(up) <= 1
                and (not up or len(sent) == MAX_REMINDERS)
                and spaced
            )
        checks.expect(
            "reminders",
            driver.pattern,
            ok,
            f"{invoice} ({kind}): {len(sent)} reminders, {len(up)} escalations, gaps {gaps} s",
            [invoice],
        )


class Limited(Driver):
    """``LimitedTask/RunTask`` in bursts of one to four against a limiter of 2/s, burst 2."""

    pattern = "ratelimit"
    env: ClassVar[dict[str, str]] = {
        "RATELIMIT_WORK_SECONDS": "0.05",
        "RATELIMIT_FAILURE__MODE": "random",
        "RATELIMIT_FAILURE__RATE": "0.1",
    }
    LIMIT, BURST = 2.0, 2

    async def setup(self) -> None:
        await self.invoke(
            "set-rate",
            path("Limiter", "SetRate", "LimitedTask-RunTask"),
            {"limit": self.LIMIT, "burst": self.BURST},
            idempotency_key=f"{self.ctx.run}-rate",
        )

    async def step(self, n: int) -> None:
        burst = self.rng.randint(1, 4)
        await asyncio.gather(
            *(
                self.invoke(
                    "task", path("LimitedTask", "RunTask"), idempotency_key=self.key("limited", n * 10 + i)
                )
                for i in range(burst)
            )
        )

    def check(self, checks: Checks) -> None:
        self.answered(checks)
        done = defaultdict(list)
        for effect in self.ledger.effects("heavywork", "process"):
            done[effect.key].append(effect)
        granted = []
        for call in self.calls:
            if call.what != "task" or call.status is None:
                continue
            ok = call.status == 200 and isinstance(call.answer, dict)
            checks.expect(
                "expected-answer", self.pattern, ok, f"{call.target}: {call.status} {call.answer!r}"
            )
            checks.expect(
                "effects-once",
                self.pattern,
                len(done[call.invocation or ""]) == 1,
                f"task {call.invocation}: worked {len(done[call.invocation or ''])} times",
                [call.invocation or ""],
            )
            if ok:
                granted.append(
                    (datetime.fromisoformat(call.answer["grantedAt"]).timestamp(), call.invocation)
                )
        granted.sort()
        worst = 0.0
        for i in range(len(granted)):
            for j in range(i, len(granted)):
                allowed = self.BURST + self.LIMIT * (granted[j][0] - granted[i][0]) + 1e-3
                worst = max(worst, (j - i + 1) - allowed)
        checks.expect(
            "limiter-bucket",
            self.pattern,
            worst <= 0,
            f"{len(granted)} grants; the busiest window went {worst:.2f} tokens over the bucket",
        )
