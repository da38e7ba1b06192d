"""The workload's parts: one driver per pattern, and the findings of the checks afterwards.

A driver sends its pattern's requests (``step``), each with a known expected outcome, and
afterwards checks what happened (``check``) against the fakes' ledgers and the server's state.
Every driver draws from its own generator seeded with the run's seed and its name, so a seed
replays the same requests in the same order, whatever else changed.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from common.events import Subscription
from common.fakes import Ledger
from common.ingress import Admin

if TYPE_CHECKING:
    from toolkit.chaos.calls import Call, Caller

INVARIANTS = {
    "answered": "every accepted request was answered (or failed terminally where expected)",
    "expected-answer": "every answer is the one the pattern promises for that request",
    "effects-once": "no external effect happened twice, none that should have happened is missing",
    "saga-compensation": "a failed saga is fully compensated, in reverse; a booked one has no compensation",
    "reminders": "no reminder chain sent more than its reminders, one interval apart, one escalation",
    "one-reservation": "each product was reserved by exactly one reservation",
    "kafka-order": "each key's records applied in order, each once; poison records dead-lettered",
    "limiter-bucket": "the limiter never let more through than its bucket allows",
    "cron-cancel": "a job runs at most once a second, and never after it was cancelled",
    "nothing-stuck": "no invocation is left running, suspended or backing off",
}


@dataclass
class Finding:
    invariant: str
    pattern: str
    detail: str
    requests: list[str] = field(default_factory=list)  # targets or keys of what broke it

    def to_json(self) -> dict[str, Any]:
        return {
            "invariant": self.invariant,
            "pattern": self.pattern,
            "detail": self.detail,
            "requests": self.requests,
        }


class Checks:
    """What the checks found: how many things each invariant was checked on, and the breaches."""

    def __init__(self) -> None:
        self.checked: dict[str, int] = dict.fromkeys(INVARIANTS, 0)
        self.findings: list[Finding] = []

    def expect(
        self, invariant: str, pattern: str, ok: bool, detail: str, requests: Iterable[str] = ()
    ) -> bool:
        assert invariant in INVARIANTS, invariant
        self.checked[invariant] += 1
        if not ok:
            self.findings.append(Finding(invariant, pattern, detail, [str(r) for r in requests][:20]))
        return ok

    def broken(self, invariant: str) -> list[Finding]:
        return [f for f in self.findings if f.invariant == invariant]


@dataclass
class Context:
    """What drivers share: the run's id (fresh keys every run), the caller, the Kafka producer."""

    run: str
    seed: int
    caller: Caller
    admin: Admin
    bootstrap: str
    ledgers: dict[str, Ledger]
    producer: Any = None  # confluent_kafka.Producer, made on first use


class Driver:
    """One pattern's part of the workload."""

    pattern: ClassVar[str]
    weight: ClassVar[float] = 1.0  # its share of the steps
    env: ClassVar[dict[str, str]] = {}  # its service's settings for the run
    subscriptions: ClassVar[tuple[Subscription, ...]] = ()

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.rng = random.Random(f"{ctx.seed}:{type(self).__name__}")
        self.calls: list[Call] = []

    @property
    def ledger(self) -> Ledger:
        return self.ctx.ledgers[self.pattern]

    def key(self, what: str, n: int) -> str:
        return f"{self.ctx.run}-{what}-{n}"

    async def setup(self) -> None:
        """Before the first step (a limiter's rate, say)."""

    async def step(self, n: int) -> None:
        raise NotImplementedError

    async def finish(self) -> None:
        """After the last step, before the drain (cancel what would run for ever)."""

    def check(self, checks: Checks) -> None:
        raise NotImplementedError

    # -- shared checks --------------------------------------------------------------------
    async def invoke(self, what: str, target: str, body: Any = None, **kwargs: Any) -> Call:
        call = await self.ctx.caller.invoke(self.pattern, what, target, body, **kwargs)
        self.calls.append(call)
        return call

    def answered(self, checks: Checks, *, ok: int | None = None) -> None:
        """Every call of this driver got its final answer (a 4xx it expects counts); with ``ok``,
        every answer has that status."""
        for call in self.calls:
            checks.expect(
                "answered",
                self.pattern,
                call.error is None and call.status is not None,
                f"{call.what} {call.target}: {call.error or 'no answer'}",
                [call.target],
            )
            if ok is not None and call.status is not None:
                checks.expect(
                    "expected-answer",
                    self.pattern,
                    call.status == ok,
                    f"{call.target}: {call.status} {call.answer!r}",
                )
