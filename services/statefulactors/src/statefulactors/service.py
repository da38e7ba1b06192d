"""Stateful actors: a state machine per machine id, as a virtual object.

``MachineOperator/<machine id>`` holds the machine's ``status`` (``UP`` / ``DOWN``) and the two
transitions between them. Restate runs one handler per key at a time and queues the others in
arrival order, so transitions of one machine never interleave, while different machines move
in parallel. A transition is durable: its steps are journaled, so an injected failure, a crash
of this process or of the server resumes it where it was, and the sleep keeps its deadline.

    SetUp(m1) ──▶ [m1: begin ─▶ sleep ─▶ complete ─▶ UP] ──▶ TearDown(m1) waits its turn
    SetUp(m2) ──▶ [m2: begin ─▶ sleep ─▶ complete ─▶ UP]     (m2 runs alongside m1)
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

import restate

from common.fakes import Ledger
from common.fakes.machines import MachinesApi
from common.handlers import handler
from statefulactors.settings import Settings

log = restate.getLogger(__name__)

Status = Literal["UP", "DOWN"]


def create_services(settings: Settings) -> list[restate.VirtualObject]:
    machines = MachinesApi(Ledger(settings.fakes_db), failure=settings.failure)
    transition_time = timedelta(seconds=settings.transition_seconds)
    operator = restate.VirtualObject("MachineOperator")

    async def transition(ctx: restate.ObjectContext, target: Status) -> None:
        machine, direction = ctx.key(), target.lower()
        # One id per transition, stable across retries: the machine API starts it only once.
        transition_id = str(ctx.uuid())
        log.info("Beginning transition to %s: %s", direction, machine)
        await ctx.run_typed(
            "begin-transition", machines.begin, transition_id=transition_id, machine=machine, target=target
        )
        await ctx.sleep(transition_time)
        await ctx.run_typed(
            "complete-transition",
            machines.complete,
            transition_id=transition_id,
            machine=machine,
            target=target,
        )
        ctx.set("status", target)
        log.info("Done transitioning to %s: %s", direction, machine)

    @handler(operator.handler, name="SetUp")
    async def set_up(ctx: restate.ObjectContext) -> str:
        machine = ctx.key()
        if await ctx.get("status", type_hint=str) == "UP":
            return f"{machine} is already up, so nothing to do"
        await transition(ctx, "UP")
        return f"{machine} is now up"

    @handler(operator.handler, name="TearDown")
    async def tear_down(ctx: restate.ObjectContext) -> str:
        machine = ctx.key()
        if await ctx.get("status", type_hint=str) != "UP":
            return f"{machine} is not up, cannot tear down"
        await transition(ctx, "DOWN")
        return f"{machine} is now down"

    return [operator]
