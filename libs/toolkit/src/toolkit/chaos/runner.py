"""A chaos or soak run: the stack, the mixed workload at a steady rate, the faults, the drain,
the checks, and what the processes' memory did meanwhile."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common.fakes import Ledger
from toolkit.bench.meter import usage
from toolkit.bench.model import percentile
from toolkit.chaos.calls import Caller
from toolkit.chaos.calls_patterns import FanOut, Tasks, Uploads
from toolkit.chaos.faults import KINDS, Fault, inflict, plan
from toolkit.chaos.jobs import CronJobs
from toolkit.chaos.objects import Machines, Reservations
from toolkit.chaos.records import Feed, Packages, Posts
from toolkit.chaos.stack import ChaosStack
from toolkit.chaos.timers import Limited, Reminders, Webhooks
from toolkit.chaos.trips import Trips
from toolkit.chaos.workload import Checks, Context, Driver
from toolkit.infra.restate import ROCKSDB_MEMORY_MIB
from toolkit.launcher import load_pattern

DRIVERS: list[type[Driver]] = [
    Reservations,
    Tasks,
    Webhooks,
    Reminders,
    Uploads,
    Trips,
    Machines,
    FanOut,
    Posts,
    Packages,
    Limited,
    CronJobs,
]
NEEDS = {"webhookcallbacks": ("schedulingtasks",)}  # the router sends to PaymentTracker
IN_FLIGHT = 48  # steps at once; when the stack is down they pile up to this, then the pace slips
CALIBRATION_SECONDS = 30.0
# A soak's server: the two caches that grow with the data written have bounds, RocksDB's (block
# cache and memtables, ``ROCKSDB_MEMORY_MIB``: 256 MiB, the least Restate takes, as a smaller
# setting silently gives 256) and Bifrost's cache of log records (250 MiB by default, 32 here).
# What the server holds outside them must level off (``ChaosStack.heaps``).
SOAK_RECORD_CACHE_MIB = 32
# The server's allocator (jemalloc, which reads MALLOC_CONF) keeps the pages freed objects leave
# and by default gives them back only when it is next called into; with a background thread and
# short decay times it returns them within about a second, so RSS follows what the server holds.
SOAK_MALLOC_CONF = "background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0"
SOAK_SERVER_ENV = {
    "RESTATE_BIFROST__RECORD_CACHE_MEMORY_SIZE": f"{SOAK_RECORD_CACHE_MIB} MiB",
    "MALLOC_CONF": SOAK_MALLOC_CONF,
}
SOAK_SERVER_BUDGET_MIB = ROCKSDB_MEMORY_MIB + SOAK_RECORD_CACHE_MIB


@dataclass
class Options:
    seconds: float
    seed: int
    rate: float | None  # steps per second; None in a soak: half of what a calibration reaches
    every: float = 20.0  # seconds between faults, on average
    faults: tuple[str, ...] = KINDS  # () for a soak
    patterns: tuple[str, ...] = ()  # () for all
    drain: float = 300.0
    workdir: Path = Path("chaos-work")
    nodes: int = 1  # Restate nodes, and as many Kafka brokers


@dataclass
class Outcome:
    options: Options
    rate: float
    calibrated: float | None
    steps: int
    elapsed: float
    faults: list[Fault]
    checks: Checks
    calls: list[Any]
    memory: dict[str, list[tuple[float, float]]]  # RSS samples of each process, MiB
    windows: list[dict[str, float]]
    errors: list[str] = field(default_factory=list)  # of the runner itself (a driver that raised)
    servers: tuple[str, ...] = ()  # which of the processes in ``memory`` are Restate servers
    server_budget_mib: int | None = None  # in a soak: what the servers' caches may hold
    heap: dict[str, list[tuple[float, float]]] = field(default_factory=dict)  # servers' heap outside RocksDB


class ChaosRun:
    def __init__(self, options: Options) -> None:
        self.options = options
        chosen = [d for d in DRIVERS if not options.patterns or d.pattern in options.patterns]
        self.classes = chosen
        services: dict[str, dict[str, str]] = {}
        for driver in chosen:
            services[driver.pattern] = dict(driver.env)
            for other in NEEDS.get(driver.pattern, ()):
                services.setdefault(other, next((dict(d.env) for d in DRIVERS if d.pattern == other), {}))
        self.services = services
        self.subscriptions = [s for d in chosen for s in d.subscriptions]
        for driver in chosen:
            declared = load_pattern(driver.pattern).subscriptions
            assert set(driver.subscriptions) <= set(declared), f"{driver.pattern} subscribes {declared}"
        self.errors: list[str] = []
        self.driving, self.driven = threading.Event(), threading.Event()  # the workload's paced phase
        self.began = self.began_epoch = 0.0
        self.samples: dict[str, list[tuple[float, float]]] = {}  # name -> (epoch s, RSS MiB)
        self.heaps: dict[str, list[tuple[float, float]]] = {}  # server -> (epoch s, heap MiB)

    # -- memory ----------------------------------------------------------------------------
    def _sample(self, stack: ChaosStack) -> None:
        now = time.time()
        for name, pids in stack.processes().items():
            self.samples.setdefault(name, []).append((now, sum(usage(pid).rss_mib for pid in pids)))
        for name, heap in stack.heaps().items():
            self.heaps.setdefault(name, []).append((now, heap))

    def _sampler(self, stack: ChaosStack, stop: threading.Event) -> None:
        while not stop.wait(5.0):
            self._sample(stack)

    # -- faults ----------------------------------------------------------------------------
    def _fault_loop(
        self, stack: ChaosStack, faults: list[Fault], began: float, stop: threading.Event
    ) -> None:
        for fault in faults:
            if stop.wait(max(0.0, began + fault.at - time.monotonic())):
                return
            fault.started, fault.epoch = time.monotonic() - began, time.time()
            inflict(stack, fault)

    # -- workload --------------------------------------------------------------------------
    async def _step(self, driver: Driver, n: int, gate: asyncio.Semaphore, done: list[int]) -> None:
        try:
            await driver.step(n)
            done[0] += 1
        except Exception as error:  # noqa: BLE001 - a runner bug or a client fault: reported
            self.errors.append(f"{type(driver).__name__} step {n}: {type(error).__name__}: {error}")
        finally:
            gate.release()

    async def _drive(
        self, drivers: list[Driver], seconds: float, rate: float | None, first: int
    ) -> tuple[int, int]:
        """Steps at ``rate`` a second (as fast as ``IN_FLIGHT`` allows when None) for ``seconds``."""
        rng = random.Random(f"{self.options.seed}:mix:{first}")
        weights = [d.weight for d in drivers]
        gate, done, tasks = asyncio.Semaphore(IN_FLIGHT if rate else 16), [0], set()
        began = next_at = time.monotonic()
        n = first
        while time.monotonic() - began < seconds:
            if rate:
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
                next_at += 1 / rate
            await gate.acquire()
            n += 1
            task = asyncio.create_task(self._step(rng.choices(drivers, weights)[0], n, gate, done))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks)
        return n, done[0]

    async def _workload(self, ctx: Context) -> tuple[int, float, float | None, float]:
        drivers = [cls(ctx) for cls in self.classes]
        for driver in drivers:
            await driver.setup()
        rate, calibrated, steps = self.options.rate, None, 0
        if rate is None:
            steps, done = await self._drive(drivers, CALIBRATION_SECONDS, None, 0)
            calibrated = done / CALIBRATION_SECONDS
            rate = max(0.5, calibrated / 2)
            print(
                f"calibration: {calibrated:.1f} steps/s at {16} in flight; the soak runs at {rate:.1f}/s",
                flush=True,
            )
        self.began, self.began_epoch = time.monotonic(), time.time()
        self.driving.set()  # the main thread inflicts the faults meanwhile
        try:
            last, _ = await self._drive(drivers, self.options.seconds, rate, steps)
        finally:
            self.driven.set()
        elapsed = time.monotonic() - self.began
        for driver in drivers:
            await driver.finish()
        self.drivers = drivers
        return last - steps, rate, calibrated, elapsed  # the paced phase's steps

    def _drain(self, stack: ChaosStack) -> list[dict[str, Any]]:
        """Wait until no invocation is left and every record is applied; what is left after that."""
        deadline = time.monotonic() + self.options.drain
        feeds = [d for d in self.drivers if isinstance(d, Feed)]
        sql = (
            "SELECT id, target, status, last_failure, last_failure_related_command_name AS at_step"
            " FROM sys_invocation WHERE status != 'completed' LIMIT 50"
        )
        while True:
            left = stack.admin.query(sql)
            pending = sum(f.pending() for f in feeds)
            if not left and not pending:
                return []
            if time.monotonic() > deadline:
                return left + (
                    [{"target": "kafka records", "status": f"{pending} not applied"}] if pending else []
                )
            time.sleep(1.0)

    def run(self) -> Outcome:
        options = self.options
        soak = not options.faults
        stack = ChaosStack(
            options.workdir,
            self.services,
            self.subscriptions,
            nodes=options.nodes,
            server_env=SOAK_SERVER_ENV if soak else None,
        )
        stop = threading.Event()
        sampler = threading.Thread(target=self._sampler, args=(stack, stop), daemon=True)
        try:
            ledgers = {name: Ledger(stack.ledger_path(name)) for name in self.services}
            caller = Caller(stack.ingresses, deadline=options.drain, rotation=stack.in_rotation)
            ctx = Context(
                f"c{options.seed}-{int(time.time())}",
                options.seed,
                caller,
                stack.admin,
                stack.kafka.bootstrap,
                ledgers,
            )
            faults = (
                plan(
                    options.seed,
                    options.seconds,
                    options.every,
                    sorted(self.services),
                    options.faults,
                    servers=tuple(stack.servers()),
                    brokers=tuple(stack.broker_names()),
                )
                if options.faults
                else []
            )
            self._sample(stack)
            sampler.start()
            # Faults are done from this thread: a process started from a thread that ends would
            # end with it (the launcher's parent-death signal follows the thread).
            box: list[Any] = []
            work = threading.Thread(target=lambda: box.append(asyncio.run(self._run_async(caller, ctx))))
            work.start()
            while not self.driving.wait(1.0) and work.is_alive():
                pass
            if self.driving.is_set():
                self._fault_loop(stack, faults, self.began, self.driven)
            work.join()
            if not box:
                raise RuntimeError(f"the workload stopped early: {self.errors[-3:]}")
            steps, rate, calibrated, elapsed = box[0]
            stuck = self._drain(stack)
            self._sample(stack)
            checks = Checks()
            for row in stuck:
                checks.expect(
                    "nothing-stuck",
                    "-",
                    False,
                    f"{row.get('target')}: {row.get('status')} "
                    f"{row.get('last_failure') or ''} {row.get('at_step') or ''}".strip(),
                    [str(row.get("id", ""))],
                )
            checks.expect("nothing-stuck", "-", True, "")
            for driver in self.drivers:
                try:
                    driver.check(checks)
                except Exception as error:  # noqa: BLE001
                    self.errors.append(f"check of {driver.pattern}: {type(error).__name__}: {error}")
            return Outcome(
                options,
                rate,
                calibrated,
                steps,
                elapsed,
                faults,
                checks,
                caller.calls,
                self.samples,
                windows(caller.calls, self.began_epoch, elapsed),
                self.errors,
                tuple(stack.servers()),
                SOAK_SERVER_BUDGET_MIB if soak else None,
                self.heaps,
            )
        finally:
            stop.set()
            stack.close()

    async def _run_async(self, caller: Caller, ctx: Context) -> tuple[int, float, float | None, float]:
        try:
            return await self._workload(ctx)
        except Exception as error:
            self.errors.append(f"workload: {type(error).__name__}: {error}")
            raise
        finally:
            await caller.close()


def windows(calls: list[Any], start: float, elapsed: float, count: int = 10) -> list[dict[str, float]]:
    """Latency of the answered calls in ``count`` equal windows of the run, by when they were sent."""
    answered = [c for c in calls if c.ms is not None and c.sent >= start]  # not the calibration's
    if not answered:
        return []
    width = max(elapsed, 1.0) / count
    found = []
    for i in range(count):
        ms = sorted(c.ms for c in answered if i * width <= c.sent - start < (i + 1) * width)
        if ms:
            found.append(
                {
                    "from_s": round(i * width, 1),
                    "calls": len(ms),
                    "p50_ms": round(percentile(ms, 0.5), 1),
                    "p99_ms": round(percentile(ms, 0.99), 1),
                }
            )
    return found
