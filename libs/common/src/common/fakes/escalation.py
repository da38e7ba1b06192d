"""A fake escalation desk: hands a case to a human (think: a ticket in the support tool).

One case per idempotency key, however often the request is repeated; returns the case id.
"""

from __future__ import annotations

from common.fakes.base import FakeApi


class EscalationApi(FakeApi):
    api = "escalation"

    async def escalate(self, key: str, subject: str, details: str) -> str:
        case = {"subject": subject, "details": details}
        return str(await self.perform("escalate", key, case, lambda: f"case-{key}", subject=subject))
