"""Load generators: send a batch of requests with a fixed number in flight and say what happened.

The benchmark must measure the services, not its own client: an httpx client spends ~7 ms of CPU
per request at 50 in flight, more than the floor's server. So the load comes from ``h2load``
(Debian's ``nghttp2-client``, written in C) whenever the batch allows it, and from a Python
client only when the answers must be read or the requests differ in more than their paths.

    generate() --uniform batch, answers not needed--> run_h2load()  one h2c connection, C streams
               --otherwise (or no h2load)----------> run_python()  C HTTP/1.1 connections

Both report a ``Load``: wall seconds, the latencies of every answer, statuses (0 for no answer)
and the CPU the generator itself used, so a report can say when the client, not the server, was the limit.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import re
import resource
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from toolkit.bench.model import Load, Request
from toolkit.infra.containers import ContainerError, ensure_packages
from toolkit.infra.process import die_with_parent
from toolkit.waiting import Timeout, wait_until

log = logging.getLogger(__name__)

GENERATOR_ENV = "PATTERNS_BENCH_GENERATOR"  # "python" forces the Python client
MAX_ERRORS = 5  # failures described in ``Load.errors``
REQUEST_TIMEOUT = httpx.Timeout(120.0, connect=10.0)
_COUNTS = re.compile(r"requests: (\d+) total.*?(\d+) failed, (\d+) errored, (\d+) timeout")


def ensure_h2load() -> str | None:
    """The path of ``h2load``, installed with apt-get when missing and allowed; None means "use
    the Python client" (also forced by ``PATTERNS_BENCH_GENERATOR=python``). Never raises."""
    if os.environ.get(GENERATOR_ENV) == "python":
        return None
    found = shutil.which("h2load")
    if found or os.geteuid() != 0 or shutil.which("apt-get") is None:
        return found
    try:
        ensure_packages("nghttp2-client")
    except (ContainerError, OSError, subprocess.SubprocessError) as error:
        log.warning("could not install h2load (%s): the Python client generates the load", error)
        return None
    return shutil.which("h2load")


def uniform(requests: Sequence[Request]) -> bool:
    """Whether one h2load run can send the batch: same method, body and headers (paths may differ)."""
    return bool(requests) and all(
        (r.method, r.body, r.headers) == (requests[0].method, requests[0].body, requests[0].headers)
        for r in requests
    )


def _h2load_argv(h2load: str, requests: Sequence[Request], concurrency: int, workdir: Path) -> list[str]:
    """The command line; writes the URI list and the body it names. Each h2load client walks the
    whole ``-i`` list, so ONE client (``-c 1``) with ``concurrency`` streams keeps one request per
    URI. Without ``-d`` h2load sends GET, so the method is always set as the ``:method`` header
    (that is also how an empty-body POST is sent: h2load cannot map an empty file)."""
    first = requests[0]
    argv = [h2load, "--no-tls-proto=h2c", "-c", "1", "-m", str(concurrency), "-n", str(len(requests))]
    argv += ["-i", str(workdir / "h2load-uris.txt"), "--log-file", str(workdir / "h2load-requests.log")]
    argv += ["-H", f":method: {first.method}"]
    for name, value in first.headers:
        argv += ["-H", f"{name}: {value}"]
    if first.body:
        (workdir / "h2load-body.bin").write_bytes(first.body)
        argv += ["-d", str(workdir / "h2load-body.bin")]
    return argv


def run_h2load(base_url: str, requests: Sequence[Request], concurrency: int, workdir: Path) -> Load:
    """Send ``requests`` with h2load over h2c, ``concurrency`` streams in flight. Raises
    ValueError for a batch that is not ``uniform`` (the caller then uses ``run_python``) and
    TimeoutError when h2load does not finish in a generous time (it is killed)."""
    if not uniform(requests):
        raise ValueError("h2load sends one method, body and headers: use the Python client")
    h2load = shutil.which("h2load")
    if h2load is None:
        raise FileNotFoundError("h2load is not installed (see ensure_h2load)")
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "h2load-uris.txt").write_text("".join(f"{base_url}{r.path}\n" for r in requests))
    log_file = workdir / "h2load-requests.log"
    log_file.unlink(missing_ok=True)  # h2load appends to an existing log
    argv = _h2load_argv(h2load, requests, concurrency, workdir)
    output = workdir / "h2load-output.txt"
    with output.open("wb") as sink:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            preexec_fn=functools.partial(die_with_parent, signal.SIGTERM, os.getpid()),
        )

    def reaped() -> tuple[int, resource.struct_rusage] | None:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        return (status, usage) if pid else None

    limit = 60 + 0.2 * len(requests)
    try:
        status, usage = wait_until(reaped, timeout=limit, interval=0.01, what="h2load")
    except Timeout:
        proc.kill()
        proc.wait()
        raise TimeoutError(f"h2load did not finish {len(requests)} requests in {limit:.0f}s") from None
    proc.returncode = os.waitstatus_to_exitcode(status)
    return _h2load_result(len(requests), proc.returncode, output.read_text(errors="replace"), log_file, usage)


def _h2load_result(sent: int, code: int, output: str, log_file: Path, usage: resource.struct_rusage) -> Load:
    """Read h2load's per-request log (start µs, status, duration µs) and its summary."""
    lines = log_file.read_text().splitlines() if log_file.exists() else []
    rows = [
        (int(s), int(c), int(d)) for s, c, d in (line.split("\t") for line in lines if line.count("\t") == 2)
    ]
    statuses: dict[int, int] = {}
    for _, status, _ in rows:
        statuses[status] = statuses.get(status, 0) + 1
    if sent > len(rows):
        statuses[0] = statuses.get(0, 0) + sent - len(rows)
    seconds = (max(s + d for s, _, d in rows) - min(s for s, _, _ in rows)) / 1e6 if rows else 0.0
    errors = []
    counts = _COUNTS.search(output)
    if counts and (int(counts[2]) or int(counts[3])):
        errors.append(
            f"h2load: {counts[2]} of {counts[1]} failed, {counts[3]} errored, {counts[4]} timed out"
        )
    if code != 0 or counts is None:
        errors.append(f"h2load exited with {code}: {output.strip()[-500:]}")
    return Load(
        generator="h2load",
        sent=sent,
        seconds=seconds,
        latencies_ms=[d / 1000 for _, status, d in rows if status],
        statuses=statuses,
        client_cpu_seconds=usage.ru_utime + usage.ru_stime,
        errors=errors,
    )


async def run_python(
    base_url: str, requests: Sequence[Request], concurrency: int, keep_answers: bool = True
) -> Load:
    """Send ``requests`` in order with httpx, ``concurrency`` at a time over as many HTTP/1.1
    connections. ``answers`` (with ``keep_answers``) is indexed like ``requests``: the 2xx body,
    or ``b""`` for a request that failed. Status 0 counts requests that got no answer."""
    statuses: dict[int, int] = {}
    latencies: list[float] = []
    answers = [b""] * len(requests)
    errors: list[str] = []
    pending = iter(enumerate(requests))
    first_sent, last_done = float("inf"), float("-inf")

    def failed(description: str) -> None:
        if len(errors) < MAX_ERRORS:
            errors.append(description)

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal first_sent, last_done
        for index, request in pending:  # the workers share one iterator: each request once
            started = time.perf_counter()
            first_sent = min(first_sent, started)
            try:
                response = await client.request(
                    request.method, request.path, content=request.body, headers=list(request.headers)
                )
                status = response.status_code
            except httpx.HTTPError as error:
                status = 0
                failed(f"{request.method} {request.path}: {type(error).__name__}: {error}")
            done = time.perf_counter()
            last_done = max(last_done, done)
            statuses[status] = statuses.get(status, 0) + 1
            if status:
                latencies.append((done - started) * 1000)
            if 200 <= status < 300:
                answers[index] = response.content
            elif status:
                failed(f"{request.method} {request.path}: HTTP {status}: {response.text[:200]}")

    cpu = time.process_time()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=REQUEST_TIMEOUT) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return Load(
        generator="python",
        sent=len(requests),
        seconds=max(last_done - first_sent, 0.0) if requests else 0.0,
        latencies_ms=latencies,
        statuses=statuses,
        client_cpu_seconds=time.process_time() - cpu,  # this process is the client
        answers=answers if keep_answers else None,
        errors=errors,
    )


def generate(
    base_url: str,
    requests: Sequence[Request],
    concurrency: int,
    workdir: Path,
    *,
    need_answers: bool = False,
) -> Load:
    """h2load when it is there, the batch is uniform and no answer must be read; else the
    Python client (which runs its own event loop: call this outside one). ``answers`` is set
    only with ``need_answers``."""
    if not need_answers and uniform(requests) and ensure_h2load() is not None:
        return run_h2load(base_url, requests, concurrency, workdir)
    return asyncio.run(run_python(base_url, requests, concurrency, keep_answers=need_answers))
