"""What a scenario is, and the checks that find out afterwards what its requests did.

A load scenario is a batch of requests (built from a run id, so every run uses fresh keys), the
services it needs with their settings (no delays, no injected failures), the statuses it
expects, and a check afterwards of what the requests did, read from the server's state (admin
SQL) and the fakes' ledgers: where the load generator cannot check answers, that check does.
A custom scenario drives its own load (fan-out wall time, say) and returns its result.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from common.fakes import Ledger
from common.ingress import Admin
from toolkit.bench.model import Load, Request, Result, percentile
from toolkit.testing.harness import Harness


class Bench(Protocol):
    """What scenarios and their checks use of the runner (``toolkit.bench.runner.Bench``)."""

    harness: Harness | None  # None on a running stack
    admin: Admin
    ingress: str
    workdir: Path
    requests: int  # --requests, for a custom scenario that sends a number of things
    current: Scenario
    batch_started: float  # epoch seconds

    def ledger(self, pattern: str) -> Ledger: ...

    def settle(self, count: Callable[[], int], want: int) -> int: ...

    def drained(self, service: str, load: Load) -> list[str]: ...


JSON = (("content-type", "application/json"),)
CLIENT_SHARE = 0.25  # of the machine: a client that used more may have set the pace, not the server
Check = Callable[["Bench", str, int, Load], list[str]]


@dataclass(frozen=True)
class Scenario:
    name: str
    pattern: str  # the service member it needs, or the floor
    what: str
    requests: Callable[[str, int], list[Request]]  # (run id, how many) -> the batch
    env: dict[str, str] = field(default_factory=dict)  # the service's settings for this scenario
    expect: frozenset[int] = frozenset({200})
    check: Check | None = None  # problems found afterwards
    floor: str | None = "floor-service"
    group: str = "pattern"
    base: str = "ingress"  # or "direct": Hypercorn without Restate
    share: float = 1.0  # of --requests (scenarios whose requests are long run fewer)
    concurrency: int | None = None  # fixed (sweeps); None: --concurrency
    custom: Callable[[Bench, Scenario], Result] | None = None  # drives its own load
    on_any_stack: bool = False  # needs no settings of its own, checked from the server's state
    needs: tuple[str, ...] = ()  # other patterns it calls, started with their defaults


def body(value: object) -> bytes:
    return json.dumps(value).encode()


def each(path: Callable[[str, int], str], value: object = None) -> Callable[[str, int], list[Request]]:
    """``n`` POSTs, one per path, all with the same body (so h2load can send them)."""
    data, headers = (b"", ()) if value is None else (body(value), JSON)
    return lambda run, n: [Request(path(run, i), data, headers) for i in range(n)]


def effects(api: str, op: str, *, keyed: bool = True) -> Check:
    """The fake ``api`` recorded one new ``op`` effect per request (waits for them: one-way sends
    finish after their answer). ``keyed``: the effect's key holds the run id; otherwise every
    effect recorded since the batch started counts (its warm-up was over by then)."""

    def check(bench: Bench, run: str, n: int, load: Load) -> list[str]:
        ledger = bench.ledger(bench.current.pattern)
        want = n

        def count() -> int:
            found = ledger.effects(api, op)
            return sum(run in e.key if keyed else e.at >= bench.batch_started for e in found)

        got = bench.settle(count, want)
        return [] if got == want else [f"{api}.{op}: {got} effects for {n} requests, expected {want}"]

    return check


def states(service: str, name: str, value: object, *, one: bool = False) -> Check:
    """Every request's object (key ``{run}-{i}``; with ``one``, the one object ``{run}-one``)
    holds ``name`` = ``value``."""

    def check(bench: Bench, run: str, n: int, load: Load) -> list[str]:
        keys = f"= '{run}-one'" if one else f"LIKE '{run}-%'"
        sql = (
            f"SELECT count(*) AS n FROM state WHERE service_name = '{service}' AND key = '{name}'"
            f" AND service_key {keys} AND value_utf8 = '{json.dumps(value)}'"
        )
        want = 1 if one else n
        got = bench.settle(lambda: int(bench.admin.query(sql)[0]["n"]), want)
        return [] if got == want else [f"{service}: {got} of {want} objects have {name} = {value!r}"]

    return check


def all_of(*checks: Check) -> Check:
    return lambda bench, run, n, load: [p for c in checks for p in c(bench, run, n, load)]


def result(
    scenario: Scenario,
    ms: list[float],
    *,
    generator: str,
    requests: int,
    concurrency: int,
    seconds: float,
    throughput: float,
    problems: list[str] | None = None,
    extra: dict[str, float] | None = None,
) -> Result:
    """A scenario's result from the latencies (or times) it measured, in ms, in any order; each
    problem found counts as one error."""
    ms = sorted(ms)
    problems = problems or []
    return Result(
        scenario=scenario.name,
        pattern=scenario.pattern,
        what=scenario.what,
        group=scenario.group,
        generator=generator,
        requests=requests,
        concurrency=concurrency,
        errors=len(problems),
        seconds=round(seconds, 3),
        throughput=round(throughput, 2),
        p50_ms=round(percentile(ms, 0.50), 2),
        p95_ms=round(percentile(ms, 0.95), 2),
        p99_ms=round(percentile(ms, 0.99), 2),
        max_ms=round(ms[-1], 2) if ms else float("nan"),
        floor=scenario.floor,
        extra=extra or {},
        first_error=problems[0] if problems else None,
    )
