"""``patterns bench``: it measures real work, checks every answer, and reports what it measured.

Nothing here asserts a speed: the benchmark is how speed is measured, outside the tests.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from common.ingress import Ingress
from toolkit.bench import SCENARIOS, Call, Scenario, measure
from toolkit.testing import Harness

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]


def test_bench_runs_every_scenario_on_its_own_server_and_writes_the_results(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    patterns = str(Path(sys.executable).with_name("patterns"))
    command = [
        patterns,
        "bench",
        "--requests",
        "24",
        "--concurrency",
        "4",
        "--warmup",
        "2",
        "--json",
        str(out),
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads(out.read_text())
    assert [r["scenario"] for r in results] == list(SCENARIOS)
    for r in results:
        assert (r["requests"], r["concurrency"], r["errors"], r["first_error"]) == (24, 4, 0, None)
        assert 0 < r["p50_ms"] <= r["p95_ms"] <= r["p99_ms"] <= r["max_ms"]
        assert r["throughput"] > 0
        assert r["scenario"] in done.stdout
    assert "request signing on" in done.stdout


def test_wrong_answers_and_refusals_count_as_errors(harness: Harness, ingress: Ingress) -> None:
    harness.service("durablerpc")
    rpc = SCENARIOS["rpc"]
    wrong = Scenario("wrong", "durablerpc", "answers never right", rpc.call, lambda answer: False)
    result = asyncio.run(measure(harness.server.ingress_url, wrong, requests=6, concurrency=2, warmup=0))
    assert result.errors == 6 and result.first_error == "wrong answer: True"
    together = Scenario("together", "durablerpc", "", rpc.call, rpc.right, all_right=lambda answers: False)
    result = asyncio.run(measure(harness.server.ingress_url, together, requests=3, concurrency=1, warmup=0))
    assert result.errors == 1 and "together are wrong" in str(result.first_error)
    refused = Scenario("refused", "durablerpc", "", lambda run, i: Call("NoSuchService", "Run"), rpc.right)
    result = asyncio.run(measure(harness.server.ingress_url, refused, requests=2, concurrency=1, warmup=0))
    assert result.errors == 2 and str(result.first_error).startswith("RuntimeError: 404")
    assert ingress.call("ProductService", "Reserve", key="bench-check") is True
