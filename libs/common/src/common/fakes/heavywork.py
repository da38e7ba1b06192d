"""A fake "heavy work" API: takes a while, returns a result, does the work once per key."""

from __future__ import annotations

from common.fakes.base import FakeApi


class HeavyWorkApi(FakeApi):
    api = "heavywork"

    async def process(self, key: str, description: str) -> str:
        return str(
            await self.perform("process", key, {"description": description}, lambda: f"{description}: DONE")
        )
