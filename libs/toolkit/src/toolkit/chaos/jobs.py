"""The cron driver: jobs that run every second, each cancelled after a while and replaced."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import ClassVar

from toolkit.chaos.calls import path
from toolkit.chaos.workload import Checks, Driver

# A cron job calls its target one-way; a call sent just before Cancel may still run after it
# (more than one when a crash held the target up), but none of the ones after it.
IN_FLIGHT = 2
LATE_SECONDS = 2.0


@dataclass
class Job:
    payload: str
    created: float  # when Create was first sent
    id: str | None = None
    cancelled: float | None = None  # when Cancel was answered


class CronJobs(Driver):
    """``CronJobInitiator/Create`` a job every second, ``CronJob/<id>/Cancel`` it 8 to 20 s later,
    then the next. Each job runs at most once a second and stops when cancelled."""

    pattern = "cron"
    weight = 0.5
    env: ClassVar[dict[str, str]] = {
        "CRON_TASK_SECONDS": "0.05",
        "CRON_FAILURE__MODE": "random",
        "CRON_FAILURE__RATE": "0.1",
    }

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.jobs: list[Job] = []
        self.active: Job | None = None
        self.lifetime = 0.0
        self.turn = asyncio.Lock()  # steps run concurrently: one job at a time

    async def step(self, n: int) -> None:
        async with self.turn:
            await self._step(n)

    async def _step(self, n: int) -> None:
        if self.active is None:
            job = Job(self.key("cron", n), time.time())
            request = {
                "cronExpression": "* * * * * *",
                "service": "TaskService",
                "method": "ExecuteTask",
                "payload": job.payload,
            }
            call = await self.invoke(
                "cron-create", path("CronJobInitiator", "Create"), request, idempotency_key=job.payload
            )
            if call.status == 200 and isinstance(call.answer, dict):
                job.id = call.answer["jobId"]
                self.jobs.append(job)
                self.active, self.lifetime = job, self.rng.uniform(8, 20)
        elif time.time() - self.active.created > self.lifetime:
            await self._cancel(self.active)

    async def _cancel(self, job: Job) -> None:
        assert job.id is not None
        self.active = None
        call = await self.invoke(
            "cron-cancel", path("CronJob", "Cancel", job.id), idempotency_key=f"cancel-{job.id}"
        )
        if call.status == 200:
            job.cancelled = time.time()

    async def finish(self) -> None:
        async with self.turn:
            if self.active is not None:
                await self._cancel(self.active)

    def check(self, checks: Checks) -> None:
        self.answered(checks, ok=200)
        runs: dict[str, list[float]] = {}
        for effect in self.ledger.effects("taskrunner", "execute"):
            runs.setdefault(effect.request["payload"], []).append(effect.at)
        for job in self.jobs:
            times = sorted(runs.get(job.payload, []))
            if job.cancelled is None:
                checks.expect(
                    "cron-cancel", self.pattern, False, f"job {job.id} was never cancelled", [job.payload]
                )
                continue
            lived = job.cancelled - job.created
            late = [round(t - job.cancelled, 2) for t in times if t > job.cancelled + LATE_SECONDS]
            ok = len(times) <= lived + 2 and len(late) <= IN_FLIGHT and (bool(times) or lived < 3)
            checks.expect(
                "cron-cancel",
                self.pattern,
                ok,
                f"job {job.id}: {len(times)} runs in {lived:.1f} s, runs after the cancel: {late} s",
                [job.payload],
            )
