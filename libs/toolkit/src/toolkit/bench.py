"""``patterns bench``: how fast the patterns run on a real Restate server, measured, not asserted.

Each scenario sends a number of requests through the ingress with a fixed number in flight and
reports throughput and latency percentiles. Every answer is checked, so a fast run of wrong
answers counts as errors, not as speed. By default the benchmark starts its own server and
services (on free ports, in a temp dir, with request signing on, like the tests); with
``--ingress`` it measures a stack that is already running (``patterns up``).

    uv run patterns bench                           # every scenario, 500 requests, 16 in flight
    uv run patterns bench rpc --requests 2000 --concurrency 64 --json results.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from common.ingress import handler_path, request_body


@dataclass(frozen=True)
class Call:
    service: str
    handler: str
    key: str | None = None
    body: Any = None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class Scenario:
    name: str
    pattern: str
    what: str
    call: Callable[[str, int], Call]  # (run id, request number) -> the request
    right: Callable[[Any], bool]  # is one answer right?
    env: dict[str, str] = field(default_factory=dict)  # settings of the service the benchmark starts
    # A check over all answers at once, for what no single answer shows.
    all_right: Callable[[list[Any]], bool] = lambda answers: True


PARTS = 8

SCENARIOS = {
    s.name: s
    for s in [
        Scenario(
            "rpc",
            "durablerpc",
            "ProductService/Reserve on a new object each time, with an idempotency key",
            lambda run, i: Call("ProductService", "Reserve", f"{run}-{i}", None, f"{run}-{i}"),
            lambda answer: answer is True,
        ),
        Scenario(
            "rpc-one-object",
            "durablerpc",
            "ProductService/Reserve on one object: calls queue up behind each other",
            lambda run, i: Call("ProductService", "Reserve", run, None, f"{run}-{i}"),
            lambda answer: isinstance(answer, bool),
            all_right=lambda answers: answers.count(True) == 1,
        ),
        Scenario(
            "fanout",
            "parallelizework",
            f"FanOutWorker/Run: {PARTS} subtasks as separate invocations, then fan-in",
            lambda run, i: Call(
                "FanOutWorker", "Run", None, {"description": ",".join(f"p{n}" for n in range(PARTS))}
            ),
            lambda answer: len(answer["description"].split(",")) == PARTS,
            env={"PARALLELIZEWORK_WORK_SECONDS_MIN": "0", "PARALLELIZEWORK_WORK_SECONDS_MAX": "0"},
        ),
    ]
}


@dataclass
class Result:
    scenario: str
    requests: int
    concurrency: int
    errors: int
    seconds: float
    throughput: float  # requests per second
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    first_error: str | None = None


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of already sorted values: the smallest value with at least
    ``fraction`` of all values at or below it."""
    if not sorted_values:
        return float("nan")
    rank = math.ceil(fraction * len(sorted_values) - 1e-9)
    return sorted_values[min(max(rank, 1), len(sorted_values)) - 1]


async def _send(client: httpx.AsyncClient, call: Call) -> Any:
    body, headers = request_body(call.body)
    if call.idempotency_key is not None:
        headers["idempotency-key"] = call.idempotency_key
    path = handler_path(call.service, call.handler, call.key)
    response = await client.post(path, content=body, headers=headers)
    if response.status_code >= 400:
        raise RuntimeError(f"{response.status_code}: {response.text[:200]}")
    return response.json() if response.content else None


async def measure(ingress: str, scenario: Scenario, requests: int, concurrency: int, warmup: int) -> Result:
    run = uuid.uuid4().hex[:12]
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=ingress, timeout=120, limits=limits) as client:
        for i in range(warmup):  # connections, deployment discovery, first-call paths
            await _send(client, scenario.call(f"warmup-{run}", i))
        latencies: list[float] = []
        answers: list[Any] = []
        errors: list[str] = []
        numbers = iter(range(requests))

        async def worker() -> None:
            for i in numbers:
                started = time.perf_counter()
                try:
                    answer = await _send(client, scenario.call(run, i))
                except (httpx.HTTPError, RuntimeError, ValueError) as error:
                    errors.append(f"{type(error).__name__}: {error}")
                    continue
                latencies.append(time.perf_counter() - started)
                answers.append(answer)
                if not scenario.right(answer):
                    errors.append(f"wrong answer: {answer!r}")

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - began
    if not errors and not scenario.all_right(answers):
        errors.append(f"the answers together are wrong: {answers[:10]!r} ...")
    ms = sorted(1000 * latency for latency in latencies)
    return Result(
        scenario=scenario.name,
        requests=requests,
        concurrency=concurrency,
        errors=len(errors),
        seconds=round(seconds, 3),
        throughput=round(len(latencies) / seconds, 1) if seconds else 0.0,
        p50_ms=round(percentile(ms, 0.50), 2),
        p95_ms=round(percentile(ms, 0.95), 2),
        p99_ms=round(percentile(ms, 0.99), 2),
        max_ms=round(ms[-1], 2) if ms else float("nan"),
        first_error=errors[0] if errors else None,
    )


def _table(results: list[Result]) -> str:
    head = f"{'scenario':<16}{'requests':>9}{'in flight':>10}{'errors':>7}{'req/s':>9}"
    head += f"{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}"
    rows = [head]
    for r in results:
        row = f"{r.scenario:<16}{r.requests:>9}{r.concurrency:>10}{r.errors:>7}{r.throughput:>9.1f}"
        row += f"{r.p50_ms:>9.1f}{r.p95_ms:>9.1f}{r.p99_ms:>9.1f}{r.max_ms:>9.1f}"
        rows.append(row)
    return "\n".join(rows)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenarios", nargs="*", help=f"any of {', '.join(SCENARIOS)} (default: all)")
    parser.add_argument("--requests", type=int, default=500, help="requests per scenario (default 500)")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight (default 16)")
    parser.add_argument("--warmup", type=int, default=10, help="unmeasured requests first (default 10)")
    parser.add_argument("--ingress", help="measure a running stack at this ingress URL instead")
    parser.add_argument("--json", type=Path, help="also write the results to this file")


def bench(args: argparse.Namespace) -> int:
    unknown = sorted(set(args.scenarios) - set(SCENARIOS))
    if unknown:
        sys.exit(f"unknown scenario(s): {', '.join(unknown)}; there are {', '.join(SCENARIOS)}")
    chosen = [SCENARIOS[name] for name in (args.scenarios or SCENARIOS)]
    if args.requests < 1 or args.concurrency < 1 or args.warmup < 0:
        sys.exit("--requests and --concurrency must be at least 1, --warmup at least 0")
    results: list[Result] = []

    def run_one(ingress: str, scenario: Scenario) -> None:
        print(f"{scenario.name}: {scenario.what}", flush=True)
        run = measure(ingress, scenario, args.requests, args.concurrency, args.warmup)
        results.append(asyncio.run(run))

    if args.ingress:
        print(f"measuring the stack at {args.ingress}", flush=True)
        for scenario in chosen:
            run_one(args.ingress, scenario)
    else:
        from toolkit.infra.restate import RESTATE_VERSION
        from toolkit.testing.harness import Harness

        with tempfile.TemporaryDirectory(prefix="patterns-bench-") as workdir:
            harness = Harness(Path(workdir))
            try:
                url = harness.server.ingress_url
                print(f"restate-server {RESTATE_VERSION} at {url}, request signing on", flush=True)
                for scenario in chosen:
                    harness.service(scenario.pattern, LOG_LEVEL="WARNING", **scenario.env)
                    run_one(url, scenario)
            finally:
                harness.close()
    print()
    print(_table(results))
    failed = [r for r in results if r.errors]
    for r in failed:
        print(f"{r.scenario}: {r.errors} errors, the first: {r.first_error}", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n")
    return 1 if failed else 0
