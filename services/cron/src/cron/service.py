"""Cron jobs: a virtual object per job that calls its target and re-schedules itself.

``CronJobInitiator/Create`` checks the request, draws a job id from ``ctx`` and initiates the
``CronJob`` object of that id. The job stores its request and schedules ``Execute`` for the next
matching time as a delayed one-way send to itself. Each ``Execute`` sends the target one-way (a
slow or failing target never holds up the schedule) and schedules the next one. Restate keeps
the pending ``Execute`` durably, so a restart of the service or the server neither loses a run
nor doubles one. ``Cancel`` cancels the pending ``Execute`` and clears the state.

    Create --Initiate--> CronJob/<id>   state: {request, nextExecutionTime, nextExecutionId}
                            |  send Execute, delay = next time - now (clock read durably)
                            v
                    Execute --send--> <service>/<method>(payload)
                            `--send Execute, delay = next time - now ... until Cancel
"""

from __future__ import annotations

from datetime import UTC, datetime

import restate

from common.calls import call, send
from common.handlers import handler
from common.serving import RestateService
from cron import schedule, targets
from cron.models import CreateResult, JobInfo, JobRequest
from cron.settings import Settings
from cron.tasks import create_task_service

log = restate.getLogger(__name__)

JOB = "job"


def stamp(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


async def schedule_next(ctx: restate.ObjectContext, request: JobRequest, after: datetime | None) -> JobInfo:
    """Send ``Execute`` to this job for the next time the expression matches, and remember it."""
    now = datetime.fromtimestamp(await ctx.time(), UTC)
    # Strictly after the run in hand, even if its timer fired a hair early: never the same slot twice.
    at = schedule.next_after(request.cron_expression, max(now, after) if after else now)
    handle = send(ctx, "CronJob", "Execute", key=ctx.key(), delay=at - now)
    info = JobInfo(request=request, next_execution_time=at, next_execution_id=await handle.invocation_id())
    ctx.set(JOB, info)
    return info


def create_services(settings: Settings) -> list[RestateService]:
    initiator = restate.Service("CronJobInitiator")
    job = restate.VirtualObject("CronJob")
    check = restate.RunOptions[str | None](max_attempts=settings.check_attempts)

    @handler(initiator.handler, name="Create")
    async def create(ctx: restate.Context, request: JobRequest) -> CreateResult:
        schedule.check(request.cron_expression)  # fail fast; Initiate checks the rest
        job_id = str(ctx.uuid())
        info = await call(ctx, "CronJob", "Initiate", request, JobInfo, key=job_id)
        log.info(
            "Created job %s: %s/%s at %r", job_id, request.service, request.method, request.cron_expression
        )
        return CreateResult(job_id=job_id, next_execution_time=info.next_execution_time)

    @handler(job.handler, name="Initiate")
    async def initiate(ctx: restate.ObjectContext, request: JobRequest) -> JobInfo:
        if await ctx.get(JOB, type_hint=JobInfo) is not None:
            raise restate.TerminalError(f"job {ctx.key()} already exists", status_code=409)
        schedule.check(request.cron_expression)
        problem = await ctx.run_typed(
            "check-target", targets.problem_with, check, settings.admin_url, request
        )
        if problem is not None:
            raise restate.TerminalError(problem, status_code=400)
        info = await schedule_next(ctx, request, after=None)
        log.info("Job %s: first run at %s", ctx.key(), stamp(info.next_execution_time))
        return info

    @handler(job.handler, name="Execute", ingress_private=True)
    async def execute(ctx: restate.ObjectContext) -> None:
        info = await ctx.get(JOB, type_hint=JobInfo)
        if info is None or info.next_execution_id != ctx.request().id:
            log.info("Job %s: ignoring an execution that is no longer scheduled", ctx.key())
            return
        target = info.request
        send(ctx, target.service, target.method, target.payload, key=target.key)
        called = f"Job {ctx.key()}: called {target.service}/{target.method}"
        try:
            upcoming = await schedule_next(ctx, target, after=info.next_execution_time)
        except schedule.InvalidExpression:  # e.g. a year field: that was the last time it matches
            ctx.clear_all()
            log.info("%s for the last time; the job is done", called)
            return
        log.info("%s; next run at %s", called, stamp(upcoming.next_execution_time))

    @handler(job.handler, name="Cancel")
    async def cancel(ctx: restate.ObjectContext) -> None:
        info = await ctx.get(JOB, type_hint=JobInfo)
        if info is None:
            raise restate.TerminalError(f"job {ctx.key()} not found", status_code=404)
        ctx.cancel_invocation(info.next_execution_id)
        ctx.clear_all()
        log.info("Job %s: cancelled", ctx.key())

    @handler(job.handler, name="GetInfo", kind="shared")
    async def get_info(ctx: restate.ObjectSharedContext) -> JobInfo:
        info = await ctx.get(JOB, type_hint=JobInfo)
        if info is None:
            raise restate.TerminalError(f"job {ctx.key()} not found", status_code=404)
        return info

    return [initiator, job, create_task_service(settings)]
