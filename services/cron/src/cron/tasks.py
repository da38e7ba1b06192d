"""``TaskService``: the demo target of the cron jobs.

``ExecuteTask(payload)`` runs a task in a fake task runner. The invocation id is the idempotency
key, so a crash mid-task retries it without running it twice; the runner's ledger lets tests
count the runs a job caused.
"""

from __future__ import annotations

import restate

from common.fakes import Ledger
from common.fakes.taskrunner import TaskRunnerApi
from common.handlers import handler
from cron.settings import Settings

log = restate.getLogger(__name__)


def create_task_service(settings: Settings) -> restate.Service:
    runner = TaskRunnerApi(Ledger(settings.fakes_db), failure=settings.failure, latency=settings.task_seconds)
    tasks = restate.Service("TaskService")

    @handler(tasks.handler, name="ExecuteTask")
    async def execute_task(ctx: restate.Context, payload: str) -> None:
        log.info("Executing task: %s", payload)
        await ctx.run_typed("execute", runner.execute, key=ctx.request().id, payload=payload)

    return tasks
