"""``patterns bench``: what the patterns cost on a real Restate server, against the floor.

Every run measures the floor first (a trivial handler, a trivial virtual object and a bare
workflow through Restate, and the trivial handler on Hypercorn alone), then each pattern's main
path, fan-out's growth and a concurrency sweep, on its own server (request signing on, like the
tests) and services with no delays and no injected failures. The load generator is h2load where
the machine has it (the Python client otherwise, and where a scenario needs every answer); the
client's CPU is reported next to the server's and the services', and a run where the client
used more than a quarter of the machine is flagged. What a batch did is checked afterwards from
the server's state and the fakes' ledgers. Nothing is a timing assertion.

    uv run patterns bench                          # everything: table, bench-results/, exit 1 on errors
    uv run patterns bench rpc saga --requests 2000
    uv run patterns bench --markdown BENCHMARKS.md # also write BENCHMARKS.md from this run
"""

from __future__ import annotations

import argparse
import datetime
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

import psutil

from toolkit.bench.model import Report, Result, percentile
from toolkit.bench.scenarios import SCENARIOS

__all__ = ["SCENARIOS", "add_arguments", "bench", "percentile"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenarios", nargs="*", help=f"any of {', '.join(SCENARIOS)} (default: all)")
    parser.add_argument("--requests", type=int, default=1000, help="requests per scenario (default 1000)")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight (default 16)")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured requests first (default 20)")
    parser.add_argument("--out", type=Path, default=Path("bench-results"), help="results.json and chart.png")
    parser.add_argument("--markdown", type=Path, help="also write BENCHMARKS.md here")
    parser.add_argument("--before", type=Path, help="an earlier results.json: BENCHMARKS.md compares")
    parser.add_argument("--notes", type=Path, help="Markdown appended to BENCHMARKS.md (what it means)")
    parser.add_argument(
        "--change",
        action="append",
        default=[],
        metavar="WHAT::EFFECT",
        help="a change made since --before and what it did, for BENCHMARKS.md (repeatable)",
    )
    parser.add_argument(
        "--ingress",
        help="measure a running stack at this ingress URL instead (the floors, rpc and its sweep only; "
        "registers the floor services with that server)",
    )
    parser.add_argument("--admin", default="http://127.0.0.1:9070", help="its admin URL (with --ingress)")
    parser.add_argument(
        "--nodes",
        type=int,
        default=1,
        help="Restate nodes of its own server: 3 measures a cluster (replication 2); CPU is all nodes'",
    )


def chosen(names: list[str]) -> list[str]:
    """The scenarios asked for, after the floors they are compared to, in catalogue order."""
    unknown = sorted(set(names) - set(SCENARIOS))
    if unknown:
        sys.exit(f"unknown scenario(s): {', '.join(unknown)}; there are {', '.join(SCENARIOS)}")
    wanted = set(names or SCENARIOS)
    wanted |= {SCENARIOS[n].floor for n in wanted if SCENARIOS[n].floor}  # type: ignore[misc]
    return [name for name in SCENARIOS if name in wanted]


def machine() -> dict[str, str]:
    cpu = (
        next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if "model name" in line
            ),
            platform.processor(),
        )
        if Path("/proc/cpuinfo").exists()
        else platform.processor()
    )
    memory = psutil.virtual_memory().total / 2**30
    return {
        "cores": str(psutil.cpu_count()),
        "memory": f"{memory:.0f} GiB",
        "cpu": cpu,
        "os": platform.platform(),
    }


def _h2load_version(path: str) -> str:
    """``h2load nghttp2/1.52.0``: what the load generator says it is."""
    done = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10)
    return done.stdout.strip() or "h2load"


def versions(generator: str) -> dict[str, str]:
    from toolkit.infra.restate import RESTATE_VERSION

    found = {
        "restate-server": RESTATE_VERSION,
        "python": platform.python_version(),
        "load generator": generator,
    }
    for package in ("restate-sdk", "hypercorn", "httpx"):
        found[package] = version(package)
    return found


def bench(args: argparse.Namespace) -> int:
    from toolkit.bench import report as reports
    from toolkit.bench.chart import write_chart
    from toolkit.bench.load import ensure_h2load
    from toolkit.bench.runner import Bench, compare
    from toolkit.bench.targets import judge
    from toolkit.launcher import ServerLink

    names = chosen(args.scenarios)
    if args.requests < 1 or args.concurrency < 1 or args.warmup < 0:
        sys.exit("--requests and --concurrency must be at least 1, --warmup at least 0")
    h2load = ensure_h2load()
    generator = _h2load_version(h2load) if h2load else "python (httpx): h2load not found"
    started = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    results: list[Result] = []
    stack = ServerLink(args.ingress, args.admin) if args.ingress else None
    with tempfile.TemporaryDirectory(prefix="patterns-bench-") as workdir:
        runner = Bench(Path(workdir), warmup=args.warmup, stack=stack, nodes=args.nodes)
        try:
            runner.start()
            where = "the running stack" if stack else "its own restate-server, request signing on"
            where += f", {args.nodes} nodes" if args.nodes > 1 and not stack else ""
            print(f"measuring {where} at {runner.ingress}; load: {generator}", flush=True)
            for name in names:
                scenario = SCENARIOS[name]
                if not runner.runs(scenario):
                    print(f"{name}: skipped, it runs on the benchmark's own server only", flush=True)
                    continue
                print(f"{name}: {scenario.what}", flush=True)
                began = time.monotonic()
                result = runner.run(scenario, args.requests, args.concurrency)
                took = time.monotonic() - began
                print(f"  {result.throughput}/s, p50 {result.p50_ms} ms, {result.errors} errors, {took:.0f}s")
                results.append(result)
        finally:
            runner.close()
    compare(results)
    command = "uv run patterns bench " + shlex.join(
        sys.argv[2:] if sys.argv[1:2] == ["bench"] else sys.argv[1:]
    )
    found = versions(generator)
    if args.nodes > 1:
        found["restate nodes"] = f"{args.nodes} (replication 2)"
    run = Report(command, started, machine(), found, results, judge(results))
    print()
    print(reports.table(run))
    args.out.mkdir(parents=True, exist_ok=True)
    reports.write_json(run, args.out / "results.json")
    write_chart(run, args.out / "chart.png")
    print(f"\nwrote {args.out / 'results.json'} and {args.out / 'chart.png'}")
    if args.markdown:
        before = reports.read_json(args.before) if args.before else None
        chart = str((args.out / "chart.png").as_posix())
        changes = [tuple(change.split("::", 1)) for change in args.change if "::" in change]
        text = reports.benchmarks_md(run, before, tuning=changes, chart=chart)
        if args.notes:
            text += "\n" + args.notes.read_text()
        args.markdown.write_text(text)
        print(f"wrote {args.markdown}")
    failed = [r for r in results if r.errors]
    for r in failed:
        print(f"{r.scenario}: {r.errors} errors, the first: {r.first_error}", file=sys.stderr)
    return 1 if failed else 0
