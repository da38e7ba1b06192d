"""A fake task runner: runs a task once per idempotency key and remembers when."""

from __future__ import annotations

from common.fakes.base import FakeApi


class TaskRunnerApi(FakeApi):
    api = "taskrunner"

    async def execute(self, key: str, payload: str) -> str:
        return str(await self.perform("execute", key, {"payload": payload}, lambda: f"executed: {payload}"))
