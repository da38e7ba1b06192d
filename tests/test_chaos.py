"""``patterns chaos``: a short seeded run of every pattern under every kind of fault passes.

Seed 2 over two minutes, a fault every 12 s on average, plans each of the five kinds at least
once (a service killed, redeployed and paused past the inactivity timeout, the broker killed,
the Restate server killed). The run checks every invariant itself and exits 1 on a breach;
``libs/toolkit/tests/test_chaos_checks.py`` shows each check finding the breach it is for.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from toolkit.chaos.faults import KINDS
from toolkit.chaos.workload import INVARIANTS

pytestmark = [pytest.mark.e2e, pytest.mark.crash, pytest.mark.kafka, pytest.mark.timeout(1200)]

PATTERNS = str(Path(sys.executable).with_name("patterns"))


def test_a_short_chaos_run_of_every_pattern_keeps_every_invariant(tmp_path: Path) -> None:
    out = tmp_path / "results"
    command = [PATTERNS, "chaos", "--minutes", "2", "--seed", "2", "--rate", "5", "--every", "12"]
    done = subprocess.run([*command, "--out", str(out)], capture_output=True, text=True, timeout=1100)
    assert done.returncode == 0, f"{done.stdout[-6000:]}\n{done.stderr[-3000:]}"
    report = json.loads((out / "chaos-report.json").read_text())
    assert report["passed"] and not report["errors"]
    faults = report["faults"]
    assert {f["kind"] for f in faults} == set(KINDS), faults
    assert all(f["started"] is not None and f["error"] is None for f in faults), faults
    checked = {name: result["checked"] for name, result in report["invariants"].items()}
    assert set(checked) == set(INVARIANTS) and all(checked.values()), checked
    requests = report["requests"]
    assert len(requests) == 11, requests  # eventtransactions only gets Kafka records, no requests
    assert sum(r["retried"] for r in requests.values()) > 0, "the server was killed: some call had to retry"
    assert "--seed 2" in report["replay"]
