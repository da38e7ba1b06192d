"""A fake email API: sends a message once per idempotency key and returns its message id."""

from __future__ import annotations

from common.fakes.base import FakeApi


class EmailApi(FakeApi):
    api = "email"

    async def send(self, key: str, to: str, subject: str, body: str) -> str:
        message = {"to": to, "subject": subject, "body": body}
        return str(await self.perform("send", key, message, lambda: f"msg-{key}", subject=to))
