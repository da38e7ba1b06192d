"""Drivers of the virtual objects called directly: product reservations and machines."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from typing import ClassVar

from toolkit.chaos.calls import path
from toolkit.chaos.workload import Checks, Driver

OK = 200


class Reservations(Driver):
    """``ProductService/Reserve``: new products (each reserved once) and a few hot products that
    many reservations race for (exactly one wins); some reservations are sent twice."""

    pattern = "durablerpc"
    weight = 2.0
    HOT = 4

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.products: set[str] = set()

    async def step(self, n: int) -> None:
        hot = self.rng.random() < 0.5
        product = f"{self.ctx.run}-hot-{self.rng.randrange(self.HOT)}" if hot else self.key("product", n)
        self.products.add(product)
        reservation = f"reservation-{n}"
        target = path("ProductService", "Reserve", product)
        times = 2 if self.rng.random() < 0.15 else 1
        await asyncio.gather(
            *(
                self.invoke(
                    "reserve-hot" if hot else "reserve",
                    target,
                    idempotency_key=reservation,
                    expected={"product": product, "reservation": reservation, "hot": hot},
                )
                for _ in range(times)
            )
        )

    def check(self, checks: Checks) -> None:
        self.answered(checks)
        wins: dict[str, set[str]] = defaultdict(set)
        answers: dict[tuple[str, str], set[object]] = defaultdict(set)
        for call in self.calls:
            if call.status != OK:
                if call.status is not None:
                    checks.expect(
                        "expected-answer",
                        self.pattern,
                        False,
                        f"{call.target}: {call.status} {call.answer}",
                        [call.target],
                    )
                continue
            product, reservation = call.expected["product"], call.expected["reservation"]
            answers[(product, reservation)].add(call.answer)
            if call.answer is True:
                wins[product].add(reservation)
            if not call.expected["hot"]:
                checks.expect(
                    "expected-answer",
                    self.pattern,
                    call.answer is True,
                    f"the only reservation of {product} answered {call.answer!r}",
                    [call.target],
                )
        for (product, reservation), seen in answers.items():
            checks.expect(
                "expected-answer",
                self.pattern,
                len(seen) == 1,
                f"{product} {reservation} sent twice answered {sorted(map(str, seen))}",
                [product],
            )
        reserved = {
            row["service_key"]
            for row in self.ctx.admin.query(
                "SELECT service_key FROM state WHERE service_name = 'ProductService' AND key = 'reserved'"
                f" AND service_key LIKE '{self.ctx.run}-%' AND value_utf8 = 'true'"
            )
        }
        for product in sorted(self.products):
            checks.expect(
                "one-reservation",
                self.pattern,
                len(wins[product]) == 1 and product in reserved,
                f"{product}: {len(wins[product])} reservations won {sorted(wins[product])}, "
                f"state reserved: {product in reserved}",
                [product],
            )


class Machines(Driver):
    """``MachineOperator`` set up and torn down, one request at a time per machine, so every
    answer is known; each transition begins and completes exactly once."""

    pattern = "statefulactors"
    weight = 1.5
    env: ClassVar[dict[str, str]] = {
        "STATEFULACTORS_TRANSITION_SECONDS": "0.3",
        "STATEFULACTORS_FAILURE__RATE": "0.2",
    }
    COUNT = 6

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.names = [self.key("machine", i) for i in range(self.COUNT)]
        self.locks = {m: asyncio.Lock() for m in self.names}
        self.up = dict.fromkeys(self.names, False)
        self.transitions: Counter[str] = Counter()

    async def step(self, n: int) -> None:
        machine = self.rng.choice(self.names)
        handler = self.rng.choice(["SetUp", "TearDown"])
        async with self.locks[machine]:
            if handler == "SetUp":
                want = (
                    f"{machine} is already up, so nothing to do"
                    if self.up[machine]
                    else f"{machine} is now up"
                )
            else:
                want = (
                    f"{machine} is now down" if self.up[machine] else f"{machine} is not up, cannot tear down"
                )
            call = await self.invoke(
                handler,
                path("MachineOperator", handler, machine),
                idempotency_key=f"op-{n}",
                expected={"machine": machine, "answer": want},
            )
            if call.status == OK and call.answer == want and "is now" in want:
                self.up[machine] = handler == "SetUp"
                self.transitions[machine] += 1

    def check(self, checks: Checks) -> None:
        self.answered(checks)
        for call in self.calls:
            if call.status is not None:
                checks.expect(
                    "expected-answer",
                    self.pattern,
                    call.status == OK and call.answer == call.expected["answer"],
                    f"{call.target}: {call.status} {call.answer!r}, expected {call.expected['answer']!r}",
                    [call.target],
                )
        for op in ("begin", "complete"):
            done = Counter(e.request["machine"] for e in self.ledger.effects("machines", op))
            for machine in self.names:
                checks.expect(
                    "effects-once",
                    self.pattern,
                    done[machine] == self.transitions[machine],
                    f"{machine}: {done[machine]} transitions {op}, {self.transitions[machine]} made",
                    [machine],
                )
