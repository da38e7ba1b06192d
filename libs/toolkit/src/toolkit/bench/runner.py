"""Runs scenarios on one Restate server and turns what the load generator measured into results.

The server, the floor service and the direct Hypercorn server start once; each pattern's
service starts with the settings its scenario asks for (``Harness.service``). Around each batch
the CPU and RSS of the server and of the scenario's service are read, so every result says what
a request cost each process, the client's own included.
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from common.fakes import Ledger
from common.ingress import Admin
from toolkit.bench.direct import DirectServer
from toolkit.bench.floor import NAME as FLOOR
from toolkit.bench.floor import PATTERN as FLOOR_PATTERN
from toolkit.bench.load import generate
from toolkit.bench.meter import Usage, cores, listener, snapshot
from toolkit.bench.model import Load, Result
from toolkit.bench.scenario import CLIENT_SHARE, Scenario, result
from toolkit.bench.scenarios import SCENARIOS
from toolkit.infra.paths import free_port
from toolkit.launcher import ServerLink, ServiceProcess, load_pattern
from toolkit.testing.harness import Harness

SETTLE_SECONDS = 120.0  # for one-way work (sends, reminder chains) to finish after the batch
SERVER = "restate-server"


class Bench:
    """On its own server (``stack=None``), or on a running stack: ``ServerLink`` of its ingress
    and admin, where only ``Scenario.on_any_stack`` scenarios run (those that need no settings
    of their own and are checked from the server's state) and the floor services are registered
    with that server."""

    def __init__(
        self, workdir: Path, *, warmup: int = 20, stack: ServerLink | None = None, nodes: int = 1
    ) -> None:
        self.workdir = workdir
        self.warmup = warmup
        self.harness = Harness(workdir, nodes=nodes) if stack is None else None
        link = self.harness.link if self.harness else stack
        assert link is not None
        self.admin: Admin = self.harness.admin if self.harness else Admin(link.admin_url)
        self.ingress = link.ingress_url
        self.floor = ServiceProcess(
            FLOOR,
            port=free_port(),
            link=link,
            workdir=workdir / "floor",
            env={"LOG_LEVEL": "WARNING"},
            pattern=FLOOR_PATTERN,
            argv=[sys.executable, "-m", "toolkit.bench.floor"],
        )
        self.direct = DirectServer(free_port(), workdir / "direct.log")
        self.current = SCENARIOS["floor-service"]
        self.results: list[Result] = []
        self.batch_started = 0.0  # epoch seconds
        self.requests = 0

    def start(self) -> None:
        self.floor.start()
        self.floor.wait_healthy()
        self.floor.register(self.admin)
        self.direct.start()

    def close(self) -> None:
        self.direct.stop()
        self.floor.stop()
        if self.harness:
            self.harness.close()

    def runs(self, scenario: Scenario) -> bool:
        return self.harness is not None or scenario.on_any_stack

    # -- what the checks use -----------------------------------------------------------------
    def ledger(self, pattern: str) -> Ledger:
        assert self.harness, "checks that read a ledger run on the benchmark's own server only"
        return self.harness.service(pattern, **self._env(self.current)).ledger

    def settle(self, count: Callable[[], int], want: int) -> int:
        """``count()`` once it reaches ``want``, or its last value after ``SETTLE_SECONDS``."""
        deadline = time.monotonic() + SETTLE_SECONDS
        got = count()
        while got < want and time.monotonic() < deadline:
            time.sleep(0.2)
            got = count()
        return got

    def drained(self, service: str, load: Load) -> list[str]:
        """No invocation of ``service`` is still running, suspended or backing off."""
        sql = (
            "SELECT count(*) AS n FROM sys_invocation"
            f" WHERE target_service_name = '{service}' AND status != 'completed'"
        )
        left = -self.settle(lambda: -int(self.admin.query(sql)[0]["n"]), 0)
        return [] if left == 0 else [f"{service}: {left} invocations still not completed"]

    # -- running -----------------------------------------------------------------------------
    def _env(self, scenario: Scenario) -> dict[str, str]:
        return {"LOG_LEVEL": "WARNING", **scenario.env}

    def processes(self, scenario: Scenario) -> dict[str, int | list[int]]:
        if scenario.base == "direct":
            assert self.direct.pid is not None
            return {"hypercorn": self.direct.pid}
        if scenario.pattern == FLOOR:
            service = self.floor.process.pid
        elif self.harness:
            for other in scenario.needs:
                self.harness.service(other, LOG_LEVEL="WARNING")
            service = self.harness.service(scenario.pattern, **self._env(scenario)).process.pid
        else:
            service = listener(load_pattern(scenario.pattern).port)
        nodes = [s.process.pid for s in self.harness.servers] if self.harness else []
        server = [pid for pid in nodes if pid] or listener(urlsplit(self.ingress).port)  # every node's CPU
        found: dict[str, int | list[int] | None] = {SERVER: server, scenario.pattern: service}
        return {name: pid for name, pid in found.items() if pid is not None}

    def run(self, scenario: Scenario, requests: int, concurrency: int) -> Result:
        self.current = scenario
        self.requests = requests  # what a custom scenario sends, when it sends a number of things
        if scenario.custom is not None:
            result = scenario.custom(self, scenario)
            self.results.append(result)
            return result
        n = max(1, round(requests * scenario.share))
        concurrency = scenario.concurrency or concurrency
        processes = self.processes(scenario)
        base = self.direct.url if scenario.base == "direct" else self.ingress
        workdir = self.workdir / "load" / scenario.name
        workdir.mkdir(parents=True, exist_ok=True)
        if self.warmup:  # connections, deployment discovery, first-call paths
            generate(
                base, scenario.requests(f"warmup-{uuid.uuid4().hex[:8]}", self.warmup), concurrency, workdir
            )
        run = f"{scenario.name}-{uuid.uuid4().hex[:10]}"
        batch = scenario.requests(run, n)
        before = snapshot(processes)
        self.batch_started = time.time()
        load = generate(base, batch, concurrency, workdir)
        after = snapshot(processes)
        problems = [
            f"{count} answers {status or 'missing'}"
            for status, count in sorted(load.statuses.items())
            if status not in scenario.expect
        ]
        problems += load.errors[:1] if problems else []
        found = scenario.check(self, run, n, load) if scenario.check is not None and not problems else []
        result = summarize(scenario, n, concurrency, load, before, after, problems + found)
        result.errors += len(found)
        self.results.append(result)
        return result


def summarize(
    scenario: Scenario,
    n: int,
    concurrency: int,
    load: Load,
    before: dict[str, Usage],
    after: dict[str, Usage],
    problems: list[str],
) -> Result:
    expected = sum(count for status, count in load.statuses.items() if status in scenario.expect)
    throughput = expected / load.seconds if load.seconds else 0.0
    measured = result(
        scenario,
        load.latencies_ms,
        generator=load.generator,
        requests=n,
        concurrency=concurrency,
        seconds=load.seconds,
        throughput=throughput,
        problems=problems,
    )
    measured.errors = n - expected  # each request answered otherwise; the caller adds what its check found
    cpu = {name: 1000 * (after[name].cpu_seconds - before[name].cpu_seconds) / n for name in after}
    cpu["client"] = 1000 * load.client_cpu_seconds / n
    share = load.client_cpu_seconds / (cores() * load.seconds) if load.seconds else 0.0
    measured.cpu_ms_per_request = {k: round(v, 3) for k, v in cpu.items()}
    measured.client_machine_share = round(share, 3)
    measured.client_flagged = share > CLIENT_SHARE
    measured.rss_mib = {k: (round(before[k].rss_mib, 1), round(after[k].rss_mib, 1)) for k in after}
    return measured


def compare(results: list[Result]) -> None:
    """Set each result's ratio to its floor, measured in the same run."""
    floors = {r.scenario: r for r in results if r.group == "floor"}
    for each in results:
        base = floors.get(each.floor or "")
        if base is None or not base.throughput:
            continue
        each.throughput_ratio = round(each.throughput / base.throughput, 3)
        each.p50_over_floor_ms = round(each.p50_ms - base.p50_ms, 2)
