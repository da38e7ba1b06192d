"""A (delayed) task queue without a queue.

A client sends ``RunTask`` one-way (``/send``), optionally with a delay, and with the task id as
idempotency key. Restate stores the invocation, starts it when due, retries it until it
succeeds, and keeps the result so that any process can attach to it later by task id. A second
submission of the same id is deduplicated (``PreviouslyAccepted``), so the work runs once.

    client --send(id, delay)--> Restate ==(when due)==> AsyncTaskWorker/RunTask
       |                                                     |
       +--attach(id)--> ....... result ......................+  ctx.run("process", heavy work)
"""

from __future__ import annotations

import restate

from common.fakes import Ledger
from common.fakes.heavywork import HeavyWorkApi
from common.handlers import handler
from taskqueue.models import Result, TaskOpts
from taskqueue.settings import Settings

log = restate.getLogger(__name__)


def create_services(settings: Settings) -> list[restate.Service]:
    heavy_work = HeavyWorkApi(
        Ledger(settings.fakes_db), failure=settings.failure, latency=settings.work_seconds
    )
    worker = restate.Service("AsyncTaskWorker")

    @handler(worker.handler, name="RunTask")
    async def run_task(ctx: restate.Context, task: TaskOpts) -> Result:
        log.info("Started task %s: %s", task.id, task.description)
        # The task id is the submission's idempotency key, so it is also the work's: a retry after a
        # crash inside the step finds the work done instead of doing it twice.
        outcome = await ctx.run_typed(
            "process", heavy_work.process, key=task.id, description=task.description
        )
        log.info("Finished task %s", task.id)
        return Result(description=outcome)

    return [worker]
