"""A fake content-moderation API: is a post still under review (``PENDING``) or ``APPROVED``?

Whether a check answers ``PENDING`` follows a ``FailurePolicy`` over (post id, check number,
post content): ``random`` with a rate answers ``PENDING`` that often (seeded, reproducible),
``first`` keeps every post pending for its first N checks, ``match`` keeps posts with the given
content pending until the policy changes. Each check is recorded under ``<post id>/<check>``,
so a retried check gets the answer it had the first time.
"""

from __future__ import annotations

from common.fakes.base import FakeApi
from common.fakes.ledger import Ledger
from common.faults import OFF, FailurePolicy

PENDING = "PENDING"
APPROVED = "APPROVED"


class ModerationApi(FakeApi):
    api = "moderation"

    def __init__(
        self, ledger: Ledger, *, pending: FailurePolicy, failure: FailurePolicy = OFF, latency: float = 0.0
    ) -> None:
        super().__init__(ledger, failure=failure, latency=latency)
        self.pending = pending

    async def status(self, post_id: str, check: int, content: str) -> str:
        pending = self.pending.fails(key=post_id, attempt=check, subject=content)
        answer = PENDING if pending else APPROVED
        return str(await self.perform("status", f"{post_id}/{check}", {"check": check}, lambda: answer))
