"""The rate limiter's achieved rate against the configured one.

``LimitedTask/RunTask`` is sent one-way many times at once, for a limiter set to a given rate
with a burst of one; each task's work lands in the fake heavy-work API's ledger at the moment
it runs. The limiter's promise (PATTERNS.md) is that the first ``BURST`` tasks pass at once and
the later ones are spaced 1/rate apart, so the achieved rate is measured over the later ones:
how many ran after the first of them, over the time they took. How long the first of them took
to come after the burst (due 1/rate later) is reported beside it: that is the stack's start-up
under the sudden load, not the rate.
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
BURST = 1


def limiter(rate: float) -> Callable[[Bench, Scenario], Result]:
    def run(bench: Bench, scenario: Scenario) -> Result:
        assert bench.harness, "the rate limiter runs on the benchmark's own server only"
        key = f"bench-{rate:g}-{uuid.uuid4().hex[:8]}"
        env = {**scenario.env, "RATELIMIT_TASK_LIMITER": key}
        ledger = bench.harness.service(scenario.pattern, LOG_LEVEL="WARNING", **env).ledger
        with httpx.Client(base_url=bench.ingress, timeout=30) as client:
            client.post(f"/Limiter/{key}/SetRate", json={"limit": rate, "burst": BURST}).raise_for_status()
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
        paced = times[BURST:]  # the tasks the rate applies to
        achieved = (len(paced) - 1) / (paced[-1] - paced[0]) if len(paced) > 1 else 0.0
        gaps = [1000 * (b - a) for a, b in itertools.pairwise(paced)]  # the latencies: between two tasks
        after_burst = 1000 * (paced[0] - times[0]) if paced else 0.0
        return result(
            scenario,
            gaps,
            generator=load.generator,
            requests=tasks,
            concurrency=16,
            seconds=paced[-1] - paced[0] if len(paced) > 1 else 0.0,
            throughput=achieved,
            problems=problems,
            extra={
                "configured_rate": rate,
                "achieved_rate": round(achieved, 3),
                "error_pct": round(100 * (achieved - rate) / rate, 2),
                "after_burst_ms": round(after_burst, 1),
                "due_ms": round(1000 * BURST / rate, 1),
            },
        )

    return run
