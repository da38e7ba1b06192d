"""Rate limiting with durable timers: ``LimitedTask`` waits on a ``Limiter`` before it works.

Each ``RunTask`` reserves one token of the limiter ``LimitedTask-RunTask`` and sleeps durably
until its time to act; ``RunBatch`` reserves one token per item. With limit L and burst B the
first B tasks start at once and the rest 1/L s apart, however many arrive together and whether
or not the service or Restate restarts in between. An unconfigured limiter, or a batch larger
than the burst, is refused at once with a terminal 429.

    RunTask --ReserveN{1}--> Limiter/LimitedTask-RunTask   (one at a time per limiter)
       | <-- timeToAct --+
       |-- ctx.sleep(timeToAct - now) ... (cancelled? CancelReservation: tokens back)
       `-- ctx.run("work", ...)   the rate-limited work, once per task, and when it started
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import restate

from common.fakes import Ledger
from common.fakes.heavywork import HeavyWorkApi
from common.handlers import handler
from common.serving import RestateService
from ratelimit.limiter import create_limiter
from ratelimit.models import BatchRequest, Reservation, TaskResult
from ratelimit.ratelimiter import RateLimiter
from ratelimit.settings import Settings

log = restate.getLogger(__name__)


def create_services(settings: Settings) -> list[RestateService]:
    heavy_work = HeavyWorkApi(
        Ledger(settings.fakes_db), failure=settings.failure, latency=settings.work_seconds
    )
    limited_task = restate.Service("LimitedTask")

    async def work(ctx: restate.Context, reservation: Reservation, what: str) -> TaskResult:
        assert reservation.time_to_act is not None
        key = ctx.request().id  # stable across retries: a crash inside the step does not redo the work

        async def timed() -> float:
            started = time.time()
            await heavy_work.process(key=key, description=what)
            return started

        # One durable step records the work and when it started: no clock read of its own.
        started = datetime.fromtimestamp(await ctx.run_typed("work", timed), UTC)
        log.info(
            "Ran %s, started %.3fs after it was granted",
            what,
            (started - reservation.time_to_act).total_seconds(),
        )
        return TaskResult(
            reserved_at=reservation.creation_time,
            granted_at=reservation.time_to_act,
            started_at=started,
            tokens=reservation.tokens,
        )

    @handler(limited_task.handler, name="RunTask")
    async def run_task(ctx: restate.Context) -> TaskResult:
        reservation = await RateLimiter(ctx, settings.task_limiter).wait()
        return await work(ctx, reservation, "task")

    @handler(limited_task.handler, name="RunBatch")
    async def run_batch(ctx: restate.Context, batch: BatchRequest) -> TaskResult:
        reservation = await RateLimiter(ctx, settings.task_limiter).wait_n(batch.size)
        return await work(ctx, reservation, f"batch of {batch.size}")

    return [create_limiter(), limited_task]
