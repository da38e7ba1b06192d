"""Scenarios with logic per request or over time, which a load generator cannot send:

- ``queue-attach``: send a task one-way with its id as idempotency key, then attach to it by
  that key and read its result, as ``uv run --package queue client`` does (Python client);
- ``cron-jitter``: a job every second for ``CRON_SECONDS``; how late each run starts after the
  second it was scheduled for (the fake task runner's ledger times each run).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import TYPE_CHECKING

import httpx

from toolkit.bench.meter import cores
from toolkit.bench.model import Result
from toolkit.bench.scenario import CLIENT_SHARE, result

if TYPE_CHECKING:
    from toolkit.bench.scenario import Bench, Scenario

CRON_SECONDS = 12


def queue_attach(bench: Bench, scenario: Scenario) -> Result:
    assert bench.harness, "queue-attach runs on the benchmark's own server only"
    bench.harness.service(scenario.pattern, LOG_LEVEL="WARNING", **scenario.env)
    run, n, concurrency = uuid.uuid4().hex[:10], max(1, bench.requests // 2), 16
    latencies: list[float] = []
    problems: list[str] = []

    async def one(client: httpx.AsyncClient, task: str) -> None:
        started = time.perf_counter()
        body = {"id": task, "description": "work"}
        sent = await client.post(
            "/AsyncTaskWorker/RunTask/send", json=body, headers={"idempotency-key": task}
        )
        answer = await client.get(f"/restate/invocation/AsyncTaskWorker/RunTask/{task}/attach")
        if sent.status_code not in (200, 202) or answer.status_code != 200:
            problems.append(
                f"{task}: send {sent.status_code}, attach {answer.status_code}: {answer.text[:200]}"
            )
        elif "DONE" not in answer.json().get("description", ""):
            problems.append(f"{task}: attached to {answer.text[:200]}")
        else:
            latencies.append(1000 * (time.perf_counter() - started))

    async def drive() -> float:
        limits = httpx.Limits(max_connections=concurrency)
        async with httpx.AsyncClient(base_url=bench.ingress, timeout=60, limits=limits) as client:
            tasks = iter(range(n))
            began = time.perf_counter()

            async def worker() -> None:
                for i in tasks:
                    await one(client, f"{run}-{i}")

            await asyncio.gather(*(worker() for _ in range(concurrency)))
            return time.perf_counter() - began

    cpu = time.process_time()
    seconds = asyncio.run(drive())
    measured = result(
        scenario,
        latencies,
        generator="python",
        requests=n,
        concurrency=concurrency,
        seconds=seconds,
        throughput=len(latencies) / seconds,
        problems=problems,
    )
    client = time.process_time() - cpu
    measured.cpu_ms_per_request = {"client": round(1000 * client / n, 3)}
    measured.client_machine_share = round(client / (cores() * seconds), 3)
    measured.client_flagged = measured.client_machine_share > CLIENT_SHARE
    return measured


def cron_jitter(bench: Bench, scenario: Scenario) -> Result:
    assert bench.harness, "cron-jitter runs on the benchmark's own server only"
    ledger = bench.harness.service(scenario.pattern, LOG_LEVEL="WARNING", **scenario.env).ledger
    tag = f"jitter-{uuid.uuid4().hex[:8]}"
    job = {"cronExpression": "* * * * * *", "service": "TaskService", "method": "ExecuteTask", "payload": tag}
    with httpx.Client(base_url=bench.ingress, timeout=30) as client:
        created = client.post("/CronJobInitiator/Create", json=job)
        created.raise_for_status()
        job_id = created.json()["jobId"]
        began = time.time()
        try:
            time.sleep(CRON_SECONDS)  # the job runs on its own: this is the time it is given
        finally:
            client.post(f"/CronJob/{job_id}/Cancel").raise_for_status()
    runs = sorted(e.at for e in ledger.effects("taskrunner", "execute") if e.request.get("payload") == tag)
    late = [1000 * (at - int(at)) for at in runs]  # scheduled on the second, run this much after it
    short = len(runs) < CRON_SECONDS - 2
    return result(
        scenario,
        late,
        generator="python",
        requests=len(runs),
        concurrency=1,
        seconds=time.time() - began,
        throughput=len(runs) / CRON_SECONDS,
        problems=[f"{len(runs)} runs in {CRON_SECONDS} s of a job every second"] if short else [],
        extra={"runs": float(len(runs)), "expected_runs": float(CRON_SECONDS)},
    )
