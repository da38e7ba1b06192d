"""Drivers of the patterns that compensate, wait or repeat: sagas, reminder chains (called
directly and routed from webhooks), the rate limiter and cron jobs."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import datetime
from typing import ClassVar

from toolkit.chaos.calls import path
from toolkit.chaos.workload import Checks, Driver

DECLINED_CARD = "4000000000000002"
REMINDER_SECONDS = 2.0
MAX_REMINDERS = 3


class Trips(Driver):
    """``BookingWorkflow/<trip>/Run``; a third are paid with a card the payment API declines.
    Every API also fails transiently now and then (retried, never compensated)."""

    pattern = "sagas"
    weight = 2.0
    env: ClassVar[dict[str, str]] = {
        "SAGAS_API_SECONDS": "0.05",
        **{f"SAGAS_{api}__DECLINE__MODE": "off" for api in ("FLIGHTS", "CARS")},
        "SAGAS_PAYMENT__DECLINE__MODE": "match",
        "SAGAS_PAYMENT__DECLINE__MATCH": f'["{DECLINED_CARD}"]',
        **{f"SAGAS_{api}__FAILURE__MODE": "random" for api in ("FLIGHTS", "CARS", "PAYMENT")},
        **{f"SAGAS_{api}__FAILURE__RATE": "0.15" for api in ("FLIGHTS", "CARS", "PAYMENT")},
    }

    async def step(self, n: int) -> None:
        trip = self.key("trip", n)
        declined = self.rng.random() < 0.33
        body = {
            "flights": {"flight_id": "LH123", "passenger_name": trip},
            "car": {"pickup_location": trip, "rental_date": "2024-12-16"},
            "payment_info": {
                "card_number": DECLINED_CARD if declined else "4111111111111111",
                "amount": 100 + n,
            },
        }
        await self.invoke(
            "saga-declined" if declined else "saga",
            path("BookingWorkflow", "Run", trip),
            body,
            expected={"trip": trip, "declined": declined, "amount": 100 + n},
        )

    def check(self, checks: Checks) -> None:
        self.answered(checks)
        ledger = self.ledger
        flights = defaultdict(list, _by(ledger.effects("flights", "reserve"), "passenger_name"))
        cars = defaultdict(list, _by(ledger.effects("cars", "reserve"), "pickup_location"))
        charges = defaultdict(list, _by(ledger.effects("payments", "charge"), "amount"))
        done = {
            (e.api, e.op, e.key): e
            for api in ("flights", "cars")
            for op in ("confirm", "cancel")
            for e in ledger.effects(api, op)
        }
        refunds = {e.key: e for e in ledger.effects("payments", "refund")}
        declined_trips = 0
        for call in self.calls:
            trip, declined = call.expected["trip"], call.expected["declined"]
            if call.status is None:
                continue
            declined_trips += declined
            want = 422 if declined else 200
            checks.expect(
                "expected-answer",
                self.pattern,
                call.status == want,
                f"{trip}: {call.status} {call.answer!r}",
                [trip],
            )
            flight, car, paid = flights[trip], cars[trip], charges[call.expected["amount"]]
            checks.expect(
                "effects-once",
                self.pattern,
                len(flight) == 1 and len(car) == 1 and len(paid) == (0 if declined else 1),
                f"{trip}: {len(flight)} flights, {len(car)} cars, {len(paid)} charges",
                [trip],
            )
            if len(flight) != 1 or len(car) != 1:
                continue
            booked = [(a, b.result) for a, b in (("flights", flight[0]), ("cars", car[0]))]
            confirmed = [done.get((a, "confirm", i)) for a, i in booked]
            cancelled = [done.get((a, "cancel", i)) for a, i in booked]
            if declined:
                flight_off, car_off = cancelled
                reverse = bool(flight_off and car_off and car_off.at <= flight_off.at)  # the car came second
                checks.expect(
                    "saga-compensation",
                    self.pattern,
                    reverse and not any(confirmed),
                    f"{trip} declined: cancelled {[bool(c) for c in cancelled]}, confirmed "
                    f"{[bool(c) for c in confirmed]}, car before flight: {reverse}",
                    [trip],
                )
            else:
                payment = call.answer.get("payment_id") if isinstance(call.answer, dict) else None
                checks.expect(
                    "saga-compensation",
                    self.pattern,
                    all(confirmed) and not any(cancelled) and payment not in refunds,
                    f"{trip} booked: confirmed {[bool(c) for c in confirmed]}, cancelled "
                    f"{[bool(c) for c in cancelled]}, refunded: {payment in refunds}",
                    [trip],
                )
        nothing = sum(1 for e in refunds.values() if e.result == "NOTHING_CHARGED")
        checks.expect(
            "saga-compensation",
            self.pattern,
            nothing == declined_trips and nothing == len(refunds),
            f"{len(refunds)} refunds ({nothing} of nothing charged) for {declined_trips} declined trips",
        )


def _by(effects: list, field: str) -> dict[object, list]:
    found: dict[object, list] = defaultdict(list)
    for effect in effects:
        found[effect.request[field]].append(effect)
    return found


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
        self.answered(checks)
        for call in self.calls:
            if call.status is not None:
                checks.expect(
                    "expected-answer",
                    self.pattern,
                    call.status == 200,
                    f"{call.target}: {call.status} {call.answer!r}",
                )
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
