"""What a chaos or soak run reports: the faults with their times, the requests by pattern, each
invariant's result with the requests that broke it, the processes' memory, and how to replay.

A soak is also judged on being steady: the p99 of the last window of the run against the
median window's; each process's RSS levelling off (its peak over the last third of the run
against its peak over the middle third: a leak keeps growing, a cache filling up stops); the
Restate server's RSS within what its caches may hold (its RSS at the start plus the bounds of
RocksDB's block cache, which holds the memtables too, and of Bifrost's record cache); and the
server's heap outside RocksDB's cache levelling off. RocksDB's cache fills as the data grows,
which can take longer than a soak, so the server's RSS may still rise at the end within its
bounds; what it holds outside them may not."""

from __future__ import annotations

import json
import shlex
from collections import defaultdict
from pathlib import Path
from typing import Any

from toolkit.bench.model import percentile
from toolkit.chaos.runner import Outcome
from toolkit.chaos.workload import INVARIANTS

P99_GROWTH = 2.0  # the last window's p99 may be at most this times the median window's ...
P99_SLACK_MS = 50.0  # ... plus this (small latencies jitter by more than a factor)
RSS_GROWTH = 1.10  # the last third's peak RSS may be at most this times the middle third's ...
RSS_SLACK_MIB = 8.0  # ... plus this
BUDGET_SLACK_MIB = 32.0  # the server's peak may exceed its start plus its caches' bounds by this


def memory(samples: dict[str, list[tuple[float, float]]]) -> dict[str, dict[str, float]]:
    found = {}
    for name, series in samples.items():
        values = [rss for _, rss in series]
        found[name] = {
            "start": round(values[0], 1),
            "settled": round(values[len(values) // 4], 1),
            "peak": round(max(values), 1),
            "end": round(values[-1], 1),
            "samples": len(values),
        }
    return found


def series(samples: dict[str, list[tuple[float, float]]], points: int = 30) -> dict[str, list[list[float]]]:
    """Each process's RSS over the run, thinned to about ``points`` samples: [seconds in, MiB]."""
    found = {}
    for name, values in samples.items():
        step = max(1, len(values) // points)
        start = values[0][0]
        found[name] = [[round(t - start), round(rss, 1)] for t, rss in [*values[::step], values[-1]]]
    return found


def steady(outcome: Outcome) -> list[tuple[str, bool, str]]:
    """The soak's own judgments: (what, ok, detail)."""
    judged = []
    p99s = sorted(w["p99_ms"] for w in outcome.windows)
    if len(outcome.windows) >= 3:
        median, last = percentile(p99s, 0.5), outcome.windows[-1]["p99_ms"]
        limit = P99_GROWTH * median + P99_SLACK_MS
        judged.append(
            (
                "p99 steady",
                last <= limit,
                f"last window p99 {last:.0f} ms, median window {median:.0f} ms, limit {limit:.0f} ms",
            )
        )
    for name, samples in outcome.memory.items():
        budget = outcome.server_budget_mib if name in outcome.servers else None
        # a server's RSS grows while RocksDB's cache fills; its heap outside that cache must not
        levels = not (name in outcome.servers and len(outcome.heap.get(name, [])) >= 6)
        judged.extend(memory_judgments(name, [rss for _, rss in samples], budget_mib=budget, levels=levels))
    for name, samples in outcome.heap.items():
        judged.extend(memory_judgments(name, [mib for _, mib in samples], what="heap outside RocksDB"))
    return judged


def memory_judgments(
    name: str,
    values: list[float],
    *,
    budget_mib: float | None = None,
    what: str = "RSS",
    levels: bool = True,
) -> list[tuple[str, bool, str]]:
    """One process's memory samples over a soak: does it level off (unless ``levels`` is False: a
    Restate server whose heap outside its caches is judged instead); and for a Restate server (its
    caches' bounds given), does it stay within its start plus those bounds."""
    if len(values) < 6:
        return []
    third = len(values) // 3
    middle, last = max(values[third : 2 * third]), max(values[2 * third :])
    limit = RSS_GROWTH * middle + RSS_SLACK_MIB
    judged = []
    if levels:
        judged.append(
            (
                f"{name} {what} levels off",
                last <= limit,
                f"peak {middle:.0f} MiB over the middle third, {last:.0f} over the last "
                f"(limit {limit:.0f}); start {values[0]:.0f}, end {values[-1]:.0f}",
            )
        )
    if budget_mib is not None:
        budget = values[0] + budget_mib + BUDGET_SLACK_MIB
        judged.append(
            (
                f"{name} {what} within its budget",
                max(values) <= budget,
                f"peak {max(values):.0f} MiB; start {values[0]:.0f} + caches {budget_mib:.0f} "
                f"+ {BUDGET_SLACK_MIB:.0f} = {budget:.0f}",
            )
        )
    return judged


def replay(outcome: Outcome) -> str:
    o = outcome.options
    argv = ["uv", "run", "patterns", "chaos", "--minutes", f"{o.seconds / 60:g}", "--seed", str(o.seed)]
    argv += ["--rate", f"{outcome.rate:g}"]
    argv += ["--soak"] if not o.faults else ["--every", f"{o.every:g}", "--faults", ",".join(o.faults)]
    if o.patterns:
        argv += ["--patterns", ",".join(o.patterns)]
    return shlex.join(argv)


def by_pattern(calls: list[Any]) -> dict[str, dict[str, Any]]:
    grouped: dict[str, list[Any]] = defaultdict(list)
    for call in calls:
        grouped[call.pattern].append(call)
    found = {}
    for pattern, group in sorted(grouped.items()):
        ms = sorted(c.ms for c in group if c.ms is not None)
        found[pattern] = {
            "requests": len(group),
            "answered": len(ms),
            "retried": sum(1 for c in group if c.attempts > (2 if c.invocation else 1)),
            "p50_ms": round(percentile(ms, 0.5), 1) if ms else None,
            "p99_ms": round(percentile(ms, 0.99), 1) if ms else None,
        }
    return found


def flow(fault: dict[str, Any], calls: list[Any]) -> dict[str, float | None]:
    """How calls fared around a fault: the first answer to a call sent after it began, and the
    longest wait of a call sent while it lasted (seconds)."""
    start = fault.get("epoch")
    if start is None:
        return {"first_answer_s": None, "longest_wait_s": None}
    after = [c.answered - start for c in calls if c.sent >= start and c.answered is not None]
    during = [
        c.answered - c.sent for c in calls if start <= c.sent <= start + fault["seconds"] and c.answered
    ]
    return {
        "first_answer_s": round(min(after), 2) if after else None,
        "longest_wait_s": round(max(during), 2) if during else None,
    }


def to_json(outcome: Outcome) -> dict[str, Any]:
    checks = outcome.checks
    return {
        "mode": "chaos" if outcome.options.faults else "soak",
        "seed": outcome.options.seed,
        "seconds": outcome.options.seconds,
        "rate": round(outcome.rate, 2),
        "calibrated": outcome.calibrated,
        "steps": outcome.steps,
        "achieved_rate": round(outcome.steps / max(outcome.elapsed, 1e-9), 2),
        "faults": [{**f.to_json(), **flow(f.to_json(), outcome.calls)} for f in outcome.faults],
        "requests": by_pattern(outcome.calls),
        "invariants": {
            name: {
                "what": what,
                "checked": checks.checked[name],
                "broken": [f.to_json() for f in checks.broken(name)],
            }
            for name, what in INVARIANTS.items()
        },
        "steady": [{"what": w, "ok": ok, "detail": d} for w, ok, d in steady(outcome)]
        if not outcome.options.faults
        else [],
        "memory_mib": memory(outcome.memory),
        "heap_mib": memory(outcome.heap),
        "rss_series_mib": series(outcome.memory),
        "windows": outcome.windows,
        "errors": outcome.errors,
        "replay": replay(outcome),
        "passed": passed(outcome),
    }


def passed(outcome: Outcome) -> bool:
    soak_ok = outcome.options.faults or all(ok for _, ok, _ in steady(outcome))
    return not outcome.checks.findings and not outcome.errors and bool(soak_ok)


def text(outcome: Outcome) -> str:
    data = to_json(outcome)
    lines = [
        f"{data['mode']} run, seed {data['seed']}: {data['steps']} steps in {outcome.elapsed:.0f} s "
        f"({data['achieved_rate']}/s, asked {data['rate']}/s)"
    ]
    if data["faults"]:
        lines.append(f"faults ({len(data['faults'])}):")
        for f in data["faults"]:
            extra = f"  ERROR {f['error']}" if f["error"] else ""
            started = "-" if f["started"] is None else f["started"]
            took = "-" if f["took"] is None else f["took"]
            lines.append(
                f"  {started:>7} s  {f['kind']:<14} {f['target']:<18} "
                f"{f['seconds']:>5} s, whole again after {took} s; first answer after "
                f"{f['first_answer_s']} s, longest wait meanwhile {f['longest_wait_s']} s{extra}"
            )
    lines.append("requests by pattern:  requests  answered  retried   p50 ms   p99 ms")
    for pattern, r in data["requests"].items():
        lines.append(
            f"  {pattern:<19}{r['requests']:>9}{r['answered']:>10}{r['retried']:>9}"
            f"{r['p50_ms'] or '-':>9}{r['p99_ms'] or '-':>9}"
        )
    lines.append("invariants:")
    for name, result in data["invariants"].items():
        broken = result["broken"]
        mark = "ok  " if not broken else "FAIL"
        lines.append(f"  {mark} {name:<18} {result['checked']:>5} checked  {result['what']}")
        for finding in broken[:5]:
            lines.append(f"         {finding['pattern']}: {finding['detail']}")
            if finding["requests"]:
                lines.append(f"           requests: {', '.join(finding['requests'][:5])}")
    for judged in data["steady"]:
        lines.append(f"  {'ok  ' if judged['ok'] else 'FAIL'} {judged['what']}: {judged['detail']}")
    lines.append("memory (RSS MiB):       start  settled   peak    end")
    for name, m in data["memory_mib"].items():
        lines.append(f"  {name:<20}{m['start']:>7}{m['settled']:>9}{m['peak']:>7}{m['end']:>7}")
    if data["heap_mib"]:
        lines.append("heap outside RocksDB's cache (jemalloc allocated - block cache, MiB):")
    for name, m in data["heap_mib"].items():
        lines.append(f"  {name:<20}{m['start']:>7}{m['settled']:>9}{m['peak']:>7}{m['end']:>7}")
    for error in data["errors"][:10]:
        lines.append(f"runner error: {error}")
    lines.append(("PASSED" if data["passed"] else "FAILED") + f"; replay: {data['replay']}")
    return "\n".join(lines)


def write(outcome: Outcome, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    data = to_json(outcome)
    data["calls"] = [c.to_json() for c in outcome.calls if c.error or c.status is None or c.status >= 500]
    path = out / f"{data['mode']}-report.json"
    path.write_text(json.dumps(data, indent=1, default=str) + "\n")
    (out / f"{data['mode']}-report.txt").write_text(text(outcome) + "\n")
    return path
