"""What people read of a benchmark run (a model.Report): the terminal table, the JSON file a later
run is compared with, the chart and the text of BENCHMARKS.md. Every number comes from the report;
nothing here measures."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from toolkit.bench.model import Report, Result, Target

SERVER = "restate-server"
FLAG_NOTE = "! the client used more than a quarter of the machine: it may have set the pace, not the server"
_COLUMNS = (
    "scenario",
    "gen",
    "reqs",
    "in flight",
    "err",
    "req/s",
    "p50 ms",
    "p99 ms",
    "floor x",
    "+p50 ms",
    "client",
    "server",
    "svcs",
    "!",
)
_LEGEND = (
    "floor x: throughput / its floor's; +p50 ms: p50 - its floor's; client, server, svcs: CPU ms per request"
)
_STATUS = {True: "met", False: "not met", None: "not measured"}
_MARK = {True: "✅", False: "❌", None: "—"}


def _num(value: float) -> str:
    """A number with the decimals that matter at its size; '-' when not measured (NaN)."""
    if not math.isfinite(value):
        return "-"
    if abs(value) < 10:
        return f"{value:.2f}"
    return f"{value:.1f}" if abs(value) < 100 else f"{value:.0f}"


def ratio(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}x" if math.isfinite(value) else "-"


def _extra(value: float) -> str:
    """Counts (parts, events) without decimals, measurements as _num writes them."""
    return str(int(value)) if float(value).is_integer() else _num(value)


def _row(result: Result) -> list[str]:
    cpu = result.cpu_ms_per_request
    services = [ms for name, ms in cpu.items() if name not in ("client", SERVER)]
    over = result.p50_over_floor_ms
    return [
        result.scenario,
        result.generator,
        str(result.requests),
        str(result.concurrency),
        str(result.errors),
        _num(result.throughput),
        _num(result.p50_ms),
        _num(result.p99_ms),
        ratio(result.throughput_ratio),
        "" if over is None else f"{over:+.1f}" if math.isfinite(over) else "-",
        _num(cpu["client"]) if "client" in cpu else "",
        _num(cpu[SERVER]) if SERVER in cpu else "",
        _num(sum(services)) if services else "",
        "!" if result.client_flagged else "",
    ]


def _notes(report: Report) -> list[str]:
    """The lines under a results table: the flag's footnote, extra metrics and first errors."""
    lines = [FLAG_NOTE] if any(r.client_flagged for r in report.results) else []
    for r in report.results:
        if r.extra:
            lines.append(f"{r.scenario}: " + " ".join(f"{k}={_extra(v)}" for k, v in r.extra.items()))
    lines += [f"{r.scenario}: first error: {r.first_error}" for r in report.results if r.first_error]
    return lines


def memory(report: Report) -> list[tuple[str, float, float, float]]:
    """Each process's RSS in MiB over the run: when first measured, its peak, and at the end."""
    seen: dict[str, list[float]] = {}
    for r in report.results:
        for name, (before, after) in r.rss_mib.items():
            seen.setdefault(name, [before]).append(after)
    return [(name, values[0], max(values), values[-1]) for name, values in seen.items()]


def _memory_lines(report: Report) -> list[str]:
    return [
        f"{name}: {a:.0f} MiB first, {b:.0f} peak, {c:.0f} at the end" for name, a, b, c in memory(report)
    ]


def table(report: Report) -> str:
    """The run as a terminal table, one row per result, then its notes and the targets."""
    rows = [list(_COLUMNS), *(_row(r) for r in report.results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    cells = [
        [c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        for row in rows
    ]
    lines = ["  ".join(row).rstrip() for row in cells]
    lines += ["", _LEGEND, *_notes(report)]
    if report.results and memory(report):
        lines += ["", "memory (RSS):", *(f"  {line}" for line in _memory_lines(report))]
    if report.targets:
        lines += ["", "targets:"]
        lines += [f"  {_STATUS[t.met]:<12}  {t.name}: {t.detail}" for t in report.targets]
    return "\n".join(lines) + "\n"


def _finite(value: Any) -> Any:
    """The value with every non-finite float as None, since JSON has no NaN."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def write_json(report: Report, path: Path) -> None:
    """The report as indented JSON, non-finite numbers as null (JSON has no NaN)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_finite(asdict(report)), indent=2, allow_nan=False) + "\n")


def _float(value: float | None) -> float:
    return math.nan if value is None else float(value)


def _result(data: dict[str, Any]) -> Result:
    """A Result from its JSON form: null back to NaN where a float is required (an optional float
    such as throughput_ratio stays None), lists back to the tuples of rss_mib."""
    for f in fields(Result):
        if f.type == "float":
            data[f.name] = _float(data[f.name])
    data["cpu_ms_per_request"] = {k: _float(v) for k, v in data["cpu_ms_per_request"].items()}
    data["extra"] = {k: _float(v) for k, v in data["extra"].items()}
    data["rss_mib"] = {k: (_float(a), _float(b)) for k, (a, b) in data["rss_mib"].items()}
    return Result(**data)


def read_json(path: Path) -> Report:
    """The report write_json wrote."""
    data = json.loads(path.read_text())
    data["results"] = [_result(r) for r in data["results"]]
    data["targets"] = [Target(**t) for t in data["targets"]]
    return Report(**data)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _markdown(rows: Sequence[Sequence[str]], text_columns: int = 2) -> list[str]:
    """A Markdown table; the first ``text_columns`` are left-aligned, the numbers right-aligned."""
    rule = "|" + "|".join("---" if i < text_columns else "---:" for i in range(len(rows[0]))) + "|"
    lines = ["| " + " | ".join(row) + " |" for row in rows]
    return [lines[0], rule, *lines[1:]]


def _services_cpu(result: Result) -> float:
    spent = [v for k, v in result.cpu_ms_per_request.items() if k not in ("client", SERVER)]
    return sum(spent) if spent else float("nan")


def _tuning(report: Report, before: Report, tuning: Sequence[tuple[str, str]]) -> list[str]:
    earlier = {r.scenario: r for r in before.results}
    pairs = [(earlier[r.scenario], r) for r in report.results if r.scenario in earlier]
    rows = [["scenario", "throughput (/s)", "p50 (ms)", "services' CPU (ms/request)"]]
    rows += [
        [
            r.scenario,
            f"{_num(old.throughput)} → {_num(r.throughput)}",
            f"{_num(old.p50_ms)} → {_num(r.p50_ms)}",
            f"{_num(_services_cpu(old))} → {_num(_services_cpu(r))}",
        ]
        for old, r in pairs
    ]
    lines = ["", "## Tuning: before and after", "", f"Before: `{before.command}` ({before.started}).", ""]
    lines += _markdown(rows, text_columns=1)
    if tuning:
        lines += ["", *(f"- **{change}**: {effect}" for change, effect in tuning)]
    return lines


_SUMMARY = (
    "`patterns bench` measures the throughput, latency and CPU per request of each pattern's handlers "
    "through the Restate ingress. The floor is measured in the same run on the same machine: a trivial "
    "Restate service handler, a trivial virtual-object get/set, and the same trivial handler served by "
    "Hypercorn directly, without Restate. Every scenario is reported as a ratio to its floor, so the "
    "numbers say what a pattern costs on top of Restate rather than how fast this machine is. The load "
    "generator is h2load where it is installed (the generator column says which one ran); the client's "
    "own CPU is reported per request, and runs where the client used more than a quarter of the machine "
    "are flagged with `!`, since there the client may have set the pace."
)


def benchmarks_md(
    report: Report,
    before: Report | None = None,
    tuning: Sequence[tuple[str, str]] = (),
    chart: str = "bench-results/chart.png",
) -> str:
    """The text of BENCHMARKS.md for the run; with ``before``, a before/after section for the
    scenarios both runs have, and the changes made between them (``tuning``: change, effect)."""
    lines = ["# Benchmarks", "", _SUMMARY, ""]
    lines += ["- Machine: " + ", ".join(f"{k} {v}" for k, v in report.machine.items())]
    lines += ["- Versions: " + ", ".join(f"{k} {v}" for k, v in report.versions.items())]
    lines += [f"- Command: `{report.command}`", f"- Date: {report.started}", "", "## Results", ""]
    lines += _markdown([list(_COLUMNS), *(_row(r) for r in report.results)])
    lines += ["", _LEGEND + ".", ""]
    lines += [f"- `{r.scenario}`: {r.what}" for r in report.results]
    notes = _notes(report)
    if notes:
        lines += ["", *(f"- {n}" for n in notes)]
    if memory(report):
        lines += ["", "## Memory", "", "RSS of each process, over the scenarios that ran on it:", ""]
        lines += [f"- {line}" for line in _memory_lines(report)]
    if report.targets:
        lines += ["", "## Targets", "", "| | target | detail |", "|---|---|---|"]
        lines += [f"| {_MARK[t.met]} | {_cell(t.name)} | {_cell(t.detail)} |" for t in report.targets]
    lines += ["", "## Chart", "", f"![throughput, latency, fan-out and concurrency sweep]({chart})"]
    if before is not None:
        lines += _tuning(report, before, tuning)
    return "\n".join(lines) + "\n"
