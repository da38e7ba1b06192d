"""Fan-out, fan-in.

``Run`` splits a task on commas and calls ``RunSubtask`` once per part. Each call is a separate
invocation that Restate delivers, retries and journals on its own (it could be served by another
deployment, scaled apart). All calls are started before any is awaited, so the parts run at the
same time and the task takes about as long as its slowest part. The calls are in ``Run``'s
journal: if ``Run`` crashes and replays, it finds them there and waits for the same invocations
instead of starting new ones.

                   +--> RunSubtask("a")  sleeps its work time --> "a: DONE" --+
    Run("a,b,c") --+--> RunSubtask("b")  .......................> "b: DONE" --+--> "a: DONE,b: DONE,c: DONE"
                   +--> RunSubtask("c")  .............> "c: DONE" ------------+

An empty description (or only commas and blanks) has no parts: nothing fans out, the result is
an empty description. Blank parts (``"a,,b"``) are dropped; parts are trimmed.
"""

from __future__ import annotations

from datetime import timedelta

import restate

from common.calls import encode
from common.handlers import handler
from parallelizework.models import Result, SubTask, SubTaskResult, Task, aggregate, split
from parallelizework.settings import Settings

log = restate.getLogger(__name__)

SERVICE = "FanOutWorker"


def create_services(settings: Settings) -> list[restate.Service]:
    worker = restate.Service(SERVICE)

    @handler(worker.handler, name="Run")
    async def run(ctx: restate.Context, task: Task) -> Result:
        parts = split(task.description)
        log.info("Fanning out %d subtasks of %r", len(parts), task.description)
        # Start every call first (fan out), then wait for each in turn (fan in): they all run
        # meanwhile, so this takes as long as the slowest. (``restate.gather`` waits the same way,
        # but re-reads the whole list of calls on every completion: quadratic in the parts.)
        calls = [ctx.generic_call(SERVICE, "RunSubtask", encode(SubTask(description=p))) for p in parts]
        results = [SubTaskResult.model_validate_json(await call) for call in calls]
        log.info("All %d subtasks done", len(results))
        return aggregate(results)

    @handler(worker.handler, name="RunSubtask")
    async def run_subtask(ctx: restate.Context, subtask: SubTask) -> SubTaskResult:
        seconds = settings.work_seconds(ctx.random().random())
        log.info("Started subtask %r (works %.1f s)", subtask.description, seconds)
        await ctx.sleep(timedelta(seconds=seconds), name="work")
        log.info("Finished subtask %r", subtask.description)
        return SubTaskResult(description=f"{subtask.description}: DONE")

    return [worker]
