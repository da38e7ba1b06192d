"""The floor every scenario is compared to: what Restate itself costs on this machine.

Served like a pattern (``common.serving``: the same Hypercorn settings, request signing and
``/health``) but with bare SDK handlers, none of the project's handler layer:

    BenchFloor/Noop             a service handler that returns ``true``
    BenchCounter/{key}/Touch    a virtual object's get and set of one counter
    BenchTrip/{id}/Run          a workflow of three durable steps, and with ``{"undo": true}``
                                three undo steps after them, then a terminal error (the bare
                                shape of a saga that succeeds, and of one that compensates)

``toolkit.bench.direct`` serves ``BenchFloor/Noop`` with Hypercorn alone, without Restate.

    python -m toolkit.bench.floor       # on BENCHFLOOR_PORT / PORT, 9099 by default
"""

from __future__ import annotations

import restate
from pydantic import BaseModel

from common.pattern import Pattern
from common.settings import ServiceSettings, port_field, service_config

NAME = "benchfloor"
STEPS = ("flight", "car", "payment")


class FloorSettings(ServiceSettings):
    model_config = service_config("BENCHFLOOR_")

    port: int = port_field(9099)


class Trip(BaseModel):
    undo: bool = False


def create_services(
    settings: FloorSettings,
) -> list[restate.Service | restate.VirtualObject | restate.Workflow]:
    floor = restate.Service("BenchFloor")
    counter = restate.VirtualObject("BenchCounter")
    trip = restate.Workflow("BenchTrip")

    @floor.handler(name="Noop")
    async def noop(ctx: restate.Context) -> bool:
        return True

    @counter.handler(name="Touch")
    async def touch(ctx: restate.ObjectContext) -> int:
        count = (await ctx.get("count", type_hint=int) or 0) + 1
        ctx.set("count", count)
        return count

    @trip.main(name="Run")
    async def run(ctx: restate.WorkflowContext, request: Trip) -> list[str]:
        done: list[str] = []
        for step in STEPS:

            async def act(step: str = step) -> str:
                return f"{step}-{ctx.key()}"

            done.append(await ctx.run_typed(step, act))
        if not request.undo:
            return done
        for step in reversed(STEPS):

            async def undo(step: str = step) -> str:
                return f"undone {step}-{ctx.key()}"

            await ctx.run_typed(f"undo {step}", undo)
        raise restate.TerminalError("undone on request", status_code=409)

    return [floor, counter, trip]


PATTERN = Pattern(NAME, FloorSettings, create_services)

if __name__ == "__main__":
    PATTERN.serve()
