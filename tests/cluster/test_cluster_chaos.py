"""Node loss and broker loss on a 3-node Restate cluster with three Kafka brokers: under a steady
mixed load of every pattern through all three ingresses, Restate nodes and Kafka brokers are
``kill -9``-ed one at a time and started again. Nothing is lost and nothing is done twice (the
chaos runner's invariants, from the fakes' ledgers and the server's state), and the report says
how long calls sent during each outage waited. Seed 3 kills node n1 (the one the services were
registered through) twice, node n3 once and two of the brokers.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.crash,
    pytest.mark.kafka,
    pytest.mark.cluster,
    pytest.mark.timeout(1200),
]

PATTERNS = str(Path(sys.executable).with_name("patterns"))


def test_losing_a_node_or_a_broker_loses_nothing_and_repeats_nothing(tmp_path: Path) -> None:
    out = tmp_path / "results"
    command = [PATTERNS, "chaos", "--nodes", "3", "--minutes", "2", "--seed", "3", "--rate", "5"]
    command += ["--every", "20", "--faults", "kill-server,kill-kafka", "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=1100)
    assert done.returncode == 0, f"{done.stdout[-6000:]}\n{done.stderr[-3000:]}"
    report = json.loads((out / "chaos-report.json").read_text())
    faults = report["faults"]
    nodes = {f["target"] for f in faults if f["kind"] == "kill-server"}
    brokers = {f["target"] for f in faults if f["kind"] == "kill-kafka"}
    assert (
        nodes and nodes <= {"n1", "n2", "n3"} and brokers and brokers <= {"kafka-1", "kafka-2", "kafka-3"}
    ), faults
    assert all(f["error"] is None and f["first_answer_s"] is not None for f in faults), faults
    assert report["passed"]
