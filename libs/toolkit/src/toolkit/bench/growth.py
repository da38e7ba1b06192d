"""How fan-out's wall time grows with the number of parts.

One ``FanOutWorker/Run`` at a time, with 10, 100 and 1,000 parts that each work a fixed time
(a durable sleep): the ideal is the work time itself, since every part runs at once. The wall
time of each run is measured by the client; its answer must hold every part, done.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import httpx

from toolkit.bench.model import Result, percentile
from toolkit.bench.scenario import result

if TYPE_CHECKING:
    from toolkit.bench.scenario import Bench, Scenario

WORK_SECONDS = 0.1
ENV = {
    "PARALLELIZEWORK_WORK_SECONDS_MIN": str(WORK_SECONDS),
    "PARALLELIZEWORK_WORK_SECONDS_MAX": str(WORK_SECONDS),
}
RUNS = 3


def fanout(parts: int) -> object:
    def run(bench: Bench, scenario: Scenario) -> Result:
        assert bench.harness, "fan-out growth runs on the benchmark's own server only"
        bench.harness.service(scenario.pattern, LOG_LEVEL="WARNING", **scenario.env)
        description = ",".join(f"p{n}" for n in range(parts))
        walls: list[float] = []
        problems: list[str] = []
        with httpx.Client(base_url=bench.ingress, timeout=120) as client:
            for attempt in range(RUNS + 1):  # the first one warms up
                started = time.perf_counter()
                answer = client.post("/FanOutWorker/Run", json={"description": description})
                wall = 1000 * (time.perf_counter() - started)
                if not answer.is_success:
                    problems.append(f"{answer.status_code}: {answer.text[:200]}")
                elif answer.json()["description"].count(": DONE") != parts:
                    problems.append(f"{parts} parts asked, answered {answer.text[:200]}")
                elif attempt:
                    walls.append(wall)
        median = percentile(sorted(walls), 0.5)
        return result(
            scenario,
            walls,
            generator="custom",
            requests=RUNS,
            concurrency=1,
            seconds=sum(walls) / 1000,
            throughput=parts * 1000 / median if walls else 0.0,  # parts per second
            problems=problems,
            extra={
                "parts": float(parts),
                "wall_ms": round(median, 1),
                "slowest_part_ms": 1000 * WORK_SECONDS,
            },
        )

    return run
