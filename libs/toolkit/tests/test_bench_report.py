"""The benchmark's report: terminal table, JSON round trip, chart and BENCHMARKS.md, from a made-up run."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

from toolkit.bench.chart import write_chart
from toolkit.bench.model import Report, Result, Target
from toolkit.bench.report import benchmarks_md, memory, read_json, table, write_json


def _result(scenario: str, group: str = "pattern", throughput: float = 900.0, **kw: Any) -> Result:
    pattern = "floor" if group == "floor" else scenario.split("-")[0]
    base: dict[str, Any] = dict(pattern=pattern, what=f"what {scenario} does", generator="h2load")
    base |= dict(requests=2000, concurrency=16, errors=0, seconds=2.0, p50_ms=4.2, p95_ms=8.0, p99_ms=11.5)
    base |= dict(max_ms=30.0, cpu_ms_per_request={"client": 0.05, "restate-server": 0.61})
    if group != "floor":
        base |= {"floor": "floor-service", "throughput_ratio": throughput / 1000, "p50_over_floor_ms": 1.2}
    return Result(scenario=scenario, group=group, throughput=throughput, **(base | kw))


def _report(fanout: bool = True, sweep: bool = True) -> Report:
    results = [
        _result("floor-service", "floor", 1000.0),
        _result("floor-object", "floor", 800.0),
        _result("floor-hypercorn", "floor", 5000.0, cpu_ms_per_request={"client": 0.04}),
        _result(
            "rpc",
            throughput=930.0,
            cpu_ms_per_request={"client": 0.1, "restate-server": 0.7, "durablerpc": 0.3},
        ),
        _result("queue-send", throughput=880.0, client_flagged=True, client_machine_share=0.31),
        _result("sagas", p99_ms=math.nan, errors=3, first_error="503 Service Unavailable"),
        _result("webhook", rss_mib={"restate-server": (120.5, 130.25)}, extra={"jitter_p50_ms": 0.42}),
    ]
    if fanout:
        results += [
            _result(
                f"fanout-{n:.0f}",
                generator="custom",
                extra={"parts": n, "wall_ms": 150 + n, "slowest_part_ms": 90},
            )
            for n in (10.0, 100.0, 1000.0)
        ]
    if sweep:
        results += [
            _result(f"rpc-c{c}", "sweep", 100.0 * c, concurrency=c, p50_ms=1 + c / 4) for c in (1, 4, 16, 64)
        ]
    targets = [
        Target("single-step patterns >= 0.8x the floor's throughput", True, "rpc 0.93x, queue-send 0.88x"),
        Target("p50 within 5 ms of the floor", False, "sagas +7.1 ms"),
        Target("kafka patterns keep up with 1000 events/s", None, "no Kafka broker in this run"),
    ]
    machine = {"cores": "2", "memory": "7.7 GiB", "cpu": "Test CPU @ 2.0GHz", "os": "Linux"}
    versions = {"restate-server": "1.9.9", "python": "3.11.7", "h2load": "nghttp2/1.64.0"}
    command = "uv run patterns bench --duration 10"
    return Report(command, "2026-05-09T12:00:00Z", machine, versions, results, targets)


def _comparable(report: Report) -> Any:
    """The report as plain data with NaN as a string, since NaN != NaN."""

    def fix(value: Any) -> Any:
        if isinstance(value, float) and math.isnan(value):
            return "nan"
        if isinstance(value, dict):
            return {k: fix(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(fix(v) for v in value)
        return value

    return fix(dataclasses.asdict(report))


def test_json_round_trip_is_exact_and_writes_no_nan(tmp_path: Path) -> None:
    report, path = _report(), tmp_path / "results.json"
    write_json(report, path)
    text = path.read_text()
    assert text.endswith("}\n") and "NaN" not in text and '"p99_ms": null' in text
    back = read_json(path)
    assert _comparable(back) == _comparable(report)
    sagas = next(r for r in back.results if r.scenario == "sagas")
    assert math.isnan(sagas.p99_ms) and sagas.throughput_ratio == 0.9
    floor = back.results[0]
    assert floor.throughput_ratio is None and floor.p50_over_floor_ms is None
    assert back.results[6].rss_mib == {"restate-server": (120.5, 130.25)}
    assert isinstance(back.results[6].rss_mib["restate-server"], tuple)
    assert back.targets == report.targets and isinstance(back.targets[0], Target)


def test_table_has_a_row_per_result_ratios_flags_and_targets() -> None:
    report = _report()
    text = table(report)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 120
    assert lines[0].split()[:3] == ["scenario", "gen", "reqs"]
    rows = {line.split()[0]: line for line in lines[1 : 1 + len(report.results)]}
    assert list(rows) == [r.scenario for r in report.results]
    assert rows["rpc"].split()[-5:] == ["0.93x", "+1.2", "0.10", "0.70", "0.30"]
    assert rows["queue-send"].endswith("!") and not rows["rpc"].endswith("!")
    assert "0.88x" in rows["queue-send"] and not any(c.endswith("x") for c in rows["floor-service"].split())
    assert rows["sagas"].split()[7] == "-"
    assert sum("more than a quarter of the machine" in line for line in lines) == 1
    assert "fanout-100: parts=100 wall_ms=250 slowest_part_ms=90" in lines
    assert "webhook: jitter_p50_ms=0.42" in lines
    assert "sagas: first error: 503 Service Unavailable" in lines
    assert any(line.split()[:1] == ["met"] and "0.8x" in line for line in lines)
    assert any(line.split()[:2] == ["not", "met"] and "sagas +7.1 ms" in line for line in lines)
    assert any("not measured" in line and "no Kafka broker" in line for line in lines)


def test_no_flag_no_footnote() -> None:
    report = _report()
    report.results = [r for r in report.results if not r.client_flagged]
    assert "quarter of the machine" not in table(report)
    assert "quarter of the machine" not in benchmarks_md(report).split("## Results")[1]


def test_chart_is_a_png_with_and_without_fanout_and_sweep(tmp_path: Path) -> None:
    for name, report in (("full", _report()), ("bare", _report(fanout=False, sweep=False))):
        path = tmp_path / f"{name}.png"
        write_chart(report, path)
        data = path.read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000, name


def test_benchmarks_md_says_what_ran_and_where() -> None:
    report = _report()
    text = benchmarks_md(report, chart="bench-results/chart.png")
    assert f"`{report.command}`" in text and "2026-05-09T12:00:00Z" in text
    assert "cores 2" in text and "memory 7.7 GiB" in text and "Test CPU @ 2.0GHz" in text
    assert "restate-server 1.9.9" in text and "Hypercorn" in text and "h2load" in text
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    for result in report.results:
        assert any(row.startswith(f"| {result.scenario} |") for row in rows), result.scenario
    assert "| rpc | h2load | 2000 | 16 | 0 | 930 | 4.20 | 11.5 | 0.93x | +1.2 |" in text
    assert "| ✅ | single-step patterns" in text and "| ❌ | p50 within" in text and "| — | kafka" in text
    assert "](bench-results/chart.png)" in text
    assert "Tuning" not in text and "→" not in text


def test_benchmarks_md_before_and_after() -> None:
    after, before = _report(), _report(fanout=False)
    before.results = [dataclasses.replace(r, throughput=r.throughput / 2) for r in before.results]
    tuning = [("hypercorn workers 1 -> 2", "rpc throughput doubled")]
    text = benchmarks_md(after, before, tuning)
    section = text.split("## Tuning: before and after")[1]
    assert "| rpc | 465 → 930 | 4.20 → 4.20 |" in section
    assert "fanout-100" not in section
    assert "- **hypercorn workers 1 -> 2**: rpc throughput doubled" in section


def test_memory_follows_each_process_over_the_run() -> None:
    results = [
        _result("a", rss_mib={"restate-server": (100.0, 180.0), "sagas": (60.0, 64.0)}),
        _result("b", rss_mib={"restate-server": (180.0, 150.0)}),
    ]
    report = dataclasses.replace(_report(), results=results)
    assert memory(report) == [("restate-server", 100.0, 180.0, 150.0), ("sagas", 60.0, 64.0, 64.0)]
    assert "restate-server: 100 MiB first, 180 peak, 150 at the end" in table(report)
    assert "## Memory" in benchmarks_md(report)
