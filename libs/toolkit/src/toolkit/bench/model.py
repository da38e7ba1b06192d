"""What the benchmark's parts hand each other: requests, what a load generator measured, and
one scenario's result as it goes into the table, the JSON file, the chart and BENCHMARKS.md."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Request:
    """One HTTP request to the ingress (or to a service served without Restate)."""

    path: str  # "/ProductService/k1/Reserve", with any query string
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    method: str = "POST"


@dataclass
class Load:
    """What a load generator measured for one batch of requests."""

    generator: str  # "h2load" or "python"
    sent: int
    seconds: float  # from the first request sent to the last answer received
    latencies_ms: list[float]  # of every request that got an answer (any status), in no order
    statuses: dict[int, int]  # HTTP status -> count; 0 counts requests that got no answer
    client_cpu_seconds: float  # user + system CPU of the generator itself
    answers: list[bytes] | None = None  # 2xx bodies, when the generator keeps them (python)
    errors: list[str] = field(default_factory=list)  # the first few failures, described

    @property
    def ok(self) -> int:
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of already sorted values: the smallest value with at least
    ``fraction`` of all values at or below it."""
    if not sorted_values:
        return float("nan")
    rank = math.ceil(fraction * len(sorted_values) - 1e-9)
    return sorted_values[min(max(rank, 1), len(sorted_values)) - 1]


@dataclass
class Result:
    """One scenario of one run, as reported."""

    scenario: str  # "rpc", "floor-object", "fanout-100", "rpc-c64" ...
    pattern: str  # the service member measured, or "floor"
    what: str  # one line for the table's legend
    group: str  # "floor", "pattern" or "sweep"
    generator: str  # "h2load", "python" or "custom" (the scenario drives its own load)
    requests: int
    concurrency: int
    errors: int
    seconds: float
    throughput: float  # completed requests (or events, or parts) per second
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    floor: str | None = None  # the floor scenario this one is compared to
    throughput_ratio: float | None = None  # throughput / the floor's
    p50_over_floor_ms: float | None = None  # p50 - the floor's p50
    # CPU spent per request, in ms, by process: "client", "restate-server", each pattern's name
    cpu_ms_per_request: dict[str, float] = field(default_factory=dict)
    client_machine_share: float = 0.0  # the client's CPU / (cores x seconds)
    client_flagged: bool = False  # the client used more than a quarter of the machine
    # RSS in MiB by process, before and after the scenario
    rss_mib: dict[str, tuple[float, float]] = field(default_factory=dict)
    # what a scenario measures besides throughput and latency, e.g. "wall_ms", "achieved_rate",
    # "configured_rate", "events_per_second", "jitter_p50_ms", "parts"
    extra: dict[str, float] = field(default_factory=dict)
    first_error: str | None = None


@dataclass
class Report:
    """A whole run: the machine, the versions, the command and every result."""

    command: str
    started: str  # ISO 8601, UTC
    machine: dict[str, str]  # "cores", "memory", "cpu", "os"
    versions: dict[str, str]  # "restate-server", "python", "restate-sdk", "hypercorn", "h2load"
    results: list[Result]
    targets: list[Target] = field(default_factory=list)


@dataclass
class Target:
    """One of the targets BENCHMARKS.md reports on: met or not, and the numbers behind it."""

    name: str  # "single-step patterns >= 0.8x the floor's throughput"
    met: bool | None  # None: not measured in this run
    detail: str  # "rpc 0.93x, queue-send 0.88x ..." or why it was not measured
