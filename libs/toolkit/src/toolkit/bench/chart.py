"""The chart of a benchmark run (a model.Report): a PNG of four panels, the throughput with its
ratio to the floor, the latencies, fan-out's growth and the concurrency sweep. matplotlib is
imported only here, when a chart is drawn."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from toolkit.bench.model import Report, Result
from toolkit.bench.report import SERVER, ratio

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def _empty(ax: Axes, title: str, note: str) -> None:
    ax.set_title(title)
    ax.text(0.5, 0.5, note, ha="center", va="center", transform=ax.transAxes, color="grey")
    ax.set_axis_off()


def _log(ax: Axes, *, x: bool) -> None:
    """A log scale labelled with plain numbers (5, 20, 300) rather than powers of ten."""
    from matplotlib.ticker import LogFormatter

    (ax.set_xscale if x else ax.set_yscale)("log")
    axis = ax.xaxis if x else ax.yaxis
    axis.set_major_formatter(LogFormatter())
    axis.set_minor_formatter(LogFormatter())


def _throughput(ax: Axes, results: list[Result]) -> None:
    title = "(a) throughput, and its ratio to the floor"
    if not results:
        return _empty(ax, title, "no results")
    colours = ["tab:grey" if r.group == "floor" else "tab:blue" for r in results]
    values = [r.throughput if math.isfinite(r.throughput) else 0.0 for r in results]
    bars = ax.barh(range(len(results)), values, color=colours)
    labels = ["floor" if r.group == "floor" else ratio(r.throughput_ratio) for r in results]
    ax.bar_label(bars, labels=labels, padding=3)
    ax.set_yticks(range(len(results)), [r.scenario for r in results])
    ax.invert_yaxis()
    ax.margins(x=0.15)
    ax.set(title=title, xlabel="per second (grey: the floors)")


def _latency(ax: Axes, results: list[Result]) -> None:
    title = "(b) latency: p50 (dots) and p99 (diamonds)"
    shown = [r for r in results if math.isfinite(r.p50_ms) and r.p50_ms > 0]
    if not shown:
        return _empty(ax, title, "no latencies measured")
    y = list(range(len(shown)))
    p50, p99 = [r.p50_ms for r in shown], [r.p99_ms for r in shown]
    ax.hlines(y, p50, p99, color="lightgrey")
    ax.scatter(p50, y, label="p50", zorder=3)
    ax.scatter(p99, y, label="p99", marker="D", zorder=3)
    _log(ax, x=True)
    ax.set_yticks(y, [r.scenario for r in shown])
    ax.invert_yaxis()
    ax.set(title=title, xlabel="ms (log)")


def _fanout(ax: Axes, results: list[Result]) -> None:
    title = "(c) fan-out: wall time against parts"
    series: dict[str, list[Result]] = {}
    for r in results:
        if "parts" in r.extra and "wall_ms" in r.extra:
            series.setdefault(r.pattern, []).append(r)
    if not series:
        return _empty(ax, title, "no fan-out results (parts, wall_ms) in this run")
    for pattern, rs in series.items():
        rs.sort(key=lambda r: r.extra["parts"])
        ax.plot([r.extra["parts"] for r in rs], [r.extra["wall_ms"] for r in rs], marker="o", label=pattern)
        ideal = [r for r in rs if "slowest_part_ms" in r.extra]
        if ideal:
            xs, ys = [r.extra["parts"] for r in ideal], [r.extra["slowest_part_ms"] + 150 for r in ideal]
            ax.plot(xs, ys, linestyle="--", color="grey", label="ideal: slowest subtask + 150 ms")
    _log(ax, x=True)
    _log(ax, x=False)
    ax.set(title=title, xlabel="parts (log)", ylabel="wall ms (log)")
    ax.legend()


def _sweep(ax: Axes, results: list[Result]) -> None:
    title = "(d) concurrency sweep: throughput (solid) and p50 (dashed)"
    series: dict[str, list[Result]] = {}
    for r in results:
        series.setdefault(r.scenario.rsplit("-c", 1)[0], []).append(r)
    if not series:
        return _empty(ax, title, "no concurrency sweep in this run")
    right = ax.twinx()
    for i, (prefix, rs) in enumerate(sorted(series.items())):
        rs.sort(key=lambda r: r.concurrency)
        xs = [r.concurrency for r in rs]
        ax.plot(xs, [r.throughput for r in rs], marker="o", color=f"C{i}", label=f"{prefix} req/s")
        right.plot(xs, [r.p50_ms for r in rs], marker="s", ls="--", color=f"C{i}", label=f"{prefix} p50")
    ax.set_xscale("log", base=2)
    ticks = sorted({r.concurrency for r in results})
    ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.set(title=title, xlabel="requests in flight", ylabel="per second")
    right.set_ylabel("p50 ms")
    handles, labels = ax.get_legend_handles_labels()
    more, more_labels = right.get_legend_handles_labels()
    ax.legend(handles + more, labels + more_labels, loc="upper left")


def write_chart(report: Report, path: Path) -> None:
    """The run as a PNG of four panels: throughput against the floor, latency, fan-out growth and
    the concurrency sweep. matplotlib is imported here so that the rest of the toolkit runs
    without it."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(14, 10), layout="constrained")
    FigureCanvasAgg(fig)
    (a, b), (c, d) = fig.subplots(2, 2)
    main = [r for r in report.results if r.group != "sweep"]
    _throughput(a, main)
    _latency(b, main)
    _fanout(c, main)
    _sweep(d, [r for r in report.results if r.group == "sweep"])
    m, v = report.machine, report.versions
    fig.suptitle(
        f"patterns bench: {m.get('cores', '?')} cores, {m.get('memory', '?')} memory, "
        f"restate-server {v.get(SERVER, '?')}, {report.started}",
        fontsize=14,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
