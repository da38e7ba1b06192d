"""``patterns bench``: it measures real work against the floor, checks what the work did, and
reports it in a table, a JSON file and a chart.

Nothing here asserts a speed: the benchmark is how speed is measured, outside the tests.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from toolkit.bench.runner import Bench
from toolkit.bench.scenarios import SCENARIOS
from toolkit.testing import Harness

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
PATTERNS = str(Path(sys.executable).with_name("patterns"))


def test_bench_runs_scenarios_against_the_floor_and_writes_the_results(tmp_path: Path) -> None:
    out = tmp_path / "results"
    command = [PATTERNS, "bench", "rpc", "saga-compensate", "webhook", "fanout-10", "--requests", "24"]
    command += [
        "--concurrency",
        "4",
        "--warmup",
        "2",
        "--out",
        str(out),
        "--markdown",
        str(tmp_path / "B.md"),
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((out / "results.json").read_text())
    names = [r["scenario"] for r in report["results"]]
    assert names == [
        "floor-service",
        "floor-object",
        "floor-workflow-undo",
        "rpc",
        "webhook",
        "saga-compensate",
        "fanout-10",
    ]
    for r in report["results"]:
        assert (r["errors"], r["first_error"]) == (0, None), r
        assert 0 < r["p50_ms"] <= r["p99_ms"] <= r["max_ms"] and r["throughput"] > 0
        assert r["scenario"] in done.stdout
    rpc, webhook = report["results"][3], report["results"][4]
    assert (webhook["generator"], webhook["floor"]) == ("python", "floor-service")
    assert (rpc["requests"], rpc["concurrency"], rpc["floor"]) == (24, 4, "floor-object")
    assert rpc["throughput_ratio"] > 0 and {"client", "restate-server", "durablerpc"} <= set(
        rpc["cpu_ms_per_request"]
    )
    assert rpc["cpu_ms_per_request"]["restate-server"] > 0 and rpc["rss_mib"]["durablerpc"][1] > 0
    assert report["results"][6]["extra"]["parts"] == 10
    assert report["versions"]["restate-server"] and report["machine"]["cores"]
    assert (out / "chart.png").read_bytes()[:4] == b"\x89PNG"
    assert "uv run patterns bench rpc saga-compensate webhook" in (tmp_path / "B.md").read_text()


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bench]:
    runner = Bench(tmp_path_factory.mktemp("bench"), warmup=0)
    runner.start()
    yield runner
    runner.close()


def test_answers_the_scenario_does_not_expect_are_errors(bench: Bench) -> None:
    refused = replace(SCENARIOS["rpc"], name="refused", expect=frozenset({500}), check=None)
    result = bench.run(refused, requests=6, concurrency=2)
    assert result.errors == 6 and result.first_error == "6 answers 200"


def test_work_the_check_does_not_find_is_an_error(bench: Bench, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("toolkit.bench.runner.SETTLE_SECONDS", 1.0)
    rpc = SCENARIOS["rpc"]
    nowhere = replace(rpc, name="nowhere", requests=lambda run, n: rpc.requests(f"other-{run}", n))
    result = bench.run(nowhere, requests=4, concurrency=2)
    assert result.errors == 1 and "0 of 4 objects have reserved = True" in str(result.first_error)


def test_the_python_client_measures_when_h2load_is_not_there(
    bench: Bench, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATTERNS_BENCH_GENERATOR", "python")
    result = bench.run(SCENARIOS["rpc"], requests=8, concurrency=2)
    assert (result.generator, result.errors, result.requests) == ("python", 0, 8)
    assert result.cpu_ms_per_request["client"] > 0


def test_a_running_stack_is_measured_with_the_scenarios_it_can_run(harness: Harness, tmp_path: Path) -> None:
    harness.service("durablerpc")
    command = [PATTERNS, "bench", "rpc", "queue-send", "--requests", "12", "--concurrency", "3"]
    command += [
        "--ingress",
        harness.server.ingress_url,
        "--admin",
        harness.server.admin_url,
        "--out",
        str(tmp_path),
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "queue-send: skipped, it runs on the benchmark's own server only" in done.stdout
    report = json.loads((tmp_path / "results.json").read_text())
    names = [(r["scenario"], r["errors"]) for r in report["results"]]
    assert names == [("floor-service", 0), ("floor-object", 0), ("rpc", 0)]
    assert "BenchCounter" in harness.admin.services()  # the floor was registered with that server
