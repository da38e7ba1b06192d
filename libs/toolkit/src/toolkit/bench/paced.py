"""The rate limiter's achieved rate against the configured one.

``LimitedTask/RunTask`` is sent one-way many times at once, for a limiter set to a given rate
with a burst of one; each task's work lands in the fake heavy-work API's ledger at the moment
it runs. The achieved rate is how many tasks ran after the first, over the time they took.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

import httpx

from toolkit.bench.load import generate
from toolkit.bench.model import Request, Result
from toolkit.bench.scenario import result

if TYPE_CHECKING:
    from toolkit.bench.scenario import Bench, Scenario

SECONDS = 4.0  # how long the tasks of one measurement take at the configured rate


def limiter(rate: float) -> Callable[[Bench, Scenario], Result]:
    def run(bench: Bench, scenario: Scenario) -> Result:
        assert bench.harness, "the rate limiter runs on the benchmark's own server only"
        key = f"bench-{rate:g}-{uuid.uuid4().hex[:8]}"
        env = {**scenario.env, "RATELIMIT_TASK_LIMITER": key}
        ledger = bench.harness.service(scenario.pattern, LOG_LEVEL="WARNING", **env).ledger
        with httpx.Client(base_url=bench.ingress, timeout=30) as client:
            client.post(f"/Limiter/{key}/SetRate", json={"limit": rate, "burst": 1}).raise_for_status()
        tasks = max(10, round(rate * SECONDS)) + 1
        since = time.time()
        workdir = bench.workdir / "load" / scenario.name
        workdir.mkdir(parents=True, exist_ok=True)
        load = generate(bench.ingress, [Request("/LimitedTask/RunTask/send")] * tasks, 16, workdir)
        ran = lambda: sorted(e.at for e in ledger.effects("heavywork", "process") if e.at >= since)  # noqa: E731
        count = bench.settle(lambda: len(ran()), tasks)
        times = ran()
        accepted = sum(n for status, n in load.statuses.items() if status in scenario.expect)
        problems = [f"{tasks - accepted} sends refused: {load.statuses}"] if accepted != tasks else []
        problems += [f"{count} of {tasks} tasks ran"] if count != tasks else []
        achieved = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
        gaps = [1000 * (b - a) for a, b in itertools.pairwise(times)]  # the latencies: between two tasks
        return result(
            scenario,
            gaps,
            generator=load.generator,
            requests=tasks,
            concurrency=16,
            seconds=times[-1] - times[0] if times else 0.0,
            throughput=achieved,
            problems=problems,
            extra={
                "configured_rate": rate,
                "achieved_rate": round(achieved, 3),
                "error_pct": round(100 * (achieved - rate) / rate, 2),
            },
        )

    return run
