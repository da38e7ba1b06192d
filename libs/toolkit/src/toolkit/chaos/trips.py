"""The saga driver: trips booked, a third of them declined, every API failing now and then."""

from __future__ import annotations

from collections import defaultdict
from typing import ClassVar

from toolkit.chaos.calls import path
from toolkit.chaos.workload import Checks, Driver

DECLINED_CARD = "4000000000000002"


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
