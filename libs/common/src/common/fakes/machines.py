"""A fake machine control plane: start a transition of a machine, later mark it complete.

``begin`` asks the machine to go ``UP`` or ``DOWN``; ``complete`` records that it got there. Both
are keyed by the caller's transition id, so a retried call does not start a second transition,
and both may fail transiently when the failure policy says so. The ledger's timestamps of the
two effects show when a transition ran.
"""

from __future__ import annotations

from common.fakes.base import FakeApi


class MachinesApi(FakeApi):
    api = "machines"

    async def begin(self, transition_id: str, machine: str, target: str) -> str:
        request = {"machine": machine, "target": target}
        return str(await self.perform("begin", transition_id, request, lambda: target, subject=machine))

    async def complete(self, transition_id: str, machine: str, target: str) -> str:
        request = {"machine": machine, "target": target}
        return str(await self.perform("complete", transition_id, request, lambda: target, subject=machine))
