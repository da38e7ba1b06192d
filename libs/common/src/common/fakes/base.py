"""The base of every fake API: attempt counting, failure injection, idempotent effects."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import restate

from common.fakes.ledger import Ledger
from common.faults import OFF, FailurePolicy, TransientFailure
from common.tracing import span

log = logging.getLogger("common.fakes")


class FakeApi:
    """``perform`` is what every operation of a fake goes through:

    1. count the attempt for the idempotency key;
    2. fail terminally if ``decline`` says so, or transiently if ``failure`` says so (an
       operation can opt out: undo operations such as a cancel are never declined);
    3. take ``latency`` seconds, like a real call would;
    4. return the stored result if the key was seen before, else record a new effect.
    """

    api = "fake"

    def __init__(
        self,
        ledger: Ledger,
        *,
        failure: FailurePolicy = OFF,
        decline: FailurePolicy = OFF,
        latency: float = 0.0,
    ) -> None:
        self.ledger = ledger
        self.failure = failure
        self.decline = decline
        self.latency = latency

    async def perform(
        self,
        op: str,
        key: str,
        request: Any,
        result: Callable[[], Any],
        *,
        subject: str = "",
        latency: float | None = None,
        may_decline: bool = True,
        may_fail: bool = True,
    ) -> Any:
        with span(f"{self.api}.{op}", **{"fake.key": key, "fake.subject": subject}) as current:
            attempt = self.ledger.count_attempt(self.api, op, key)
            if current is not None:
                current.set_attribute("fake.attempt", attempt)
            if may_decline and self.decline.fails(key=key, attempt=attempt, subject=subject):
                log.warning("👻 SIMULATED: %s.%s declined (key %s, attempt %d)", self.api, op, key, attempt)
                raise restate.TerminalError(f"{self.api} declined {op} for {key}", status_code=422)
            if may_fail and self.failure.fails(key=key, attempt=attempt, subject=subject):
                log.warning("👻 SIMULATED: %s.%s failed (key %s, attempt %d)", self.api, op, key, attempt)
                raise TransientFailure(f"👻 simulated failure of {self.api}.{op} (attempt {attempt})")
            await asyncio.sleep(self.latency if latency is None else latency)
            existing = self.ledger.find(self.api, op, key)
            if current is not None:
                current.set_attribute("fake.effect", "repeated" if existing is not None else "new")
            if existing is not None:
                return existing.result
            return self.ledger.record(self.api, op, key, request, result()).result
