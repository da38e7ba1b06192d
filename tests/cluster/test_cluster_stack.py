"""``patterns up --nodes 3``: the whole catalogue on a 3-node Restate cluster and three Kafka
brokers, and the README's walk-through commands answering through every node's ingress.

Node 1 gets free ports in a range where node 2's and node 3's (20000 and 30000 above) are free
too; the brokers are ``restate.toml``'s 19092 and the two after it, so this test skips beside a
running local stack (and fails in CI, where nothing else runs).
"""

from __future__ import annotations

import functools
import json
import os
import random
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from common.cli import installed_patterns
from common.ingress import Admin
from toolkit.infra.cluster import NODE_PORT_STEP
from toolkit.infra.process import bindable
from toolkit.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.cluster]

ROOT = Path(__file__).resolve().parents[2]
PATTERNS = {name: entry.load() for name, entry in installed_patterns().items()}
BROKERS = [19092, 19093, 19094]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def node_one_ports() -> tuple[int, int, int]:
    """Ingress, admin and node port of node 1, each free at +20000 and +30000 as well."""
    rng = random.Random()
    found: list[int] = []
    while len(found) < 3:
        port = rng.randrange(10_000, 15_000)
        if port not in found and all(bindable(port + k * NODE_PORT_STEP) for k in (0, 2, 3)):
            found.append(port)
    return found[0], found[1], found[2]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    busy = [port for port in [*(p.port for p in PATTERNS.values()), *BROKERS] if not bindable(port)]
    if busy:
        message = f"ports {busy} are in use: is a local stack (`uv run patterns up`) running?"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    ingress, admin, node = node_one_ports()
    command = [str(Path(sys.executable).with_name("patterns")), "up", "--nodes", "3", "--quiet"]
    command += [f"--ingress-port={ingress}", f"--admin-port={admin}", f"--node-port={node}"]
    command += [f"--data-dir={tmp_path_factory.mktemp('cluster')}"]
    log = tmp_path_factory.mktemp("cluster-log") / "up.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    nodes = [k * NODE_PORT_STEP for k in (0, 2, 3)]
    run = {
        "process": process,
        "log": log,
        "ingresses": [f"http://127.0.0.1:{ingress + k}" for k in nodes],
        "admins": [f"http://127.0.0.1:{admin + k}" for k in nodes],
    }
    try:
        wait_until(
            lambda: "Ctrl-C stops everything." in log.read_text() or process.poll() is not None,
            timeout=300,
            interval=0.5,
            what="the cluster stack to come up",
        )
        assert process.poll() is None, log.read_text()
        yield run
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


def test_the_banner_names_every_node_and_every_broker(cluster: dict[str, Any]) -> None:
    text = cluster["log"].read_text()
    for number, (ingress, admin) in enumerate(zip(cluster["ingresses"], cluster["admins"], strict=True), 1):
        assert f"node n{number}   ingress {ingress}  admin/UI {admin}" in text
    assert "kafka     " + ",".join(f"127.0.0.1:{port}" for port in BROKERS) in text


def test_every_node_knows_every_service_and_subscription(cluster: dict[str, Any]) -> None:
    expected = {s.name for p in PATTERNS.values() for s in p.services(p.load_settings())}
    for url in cluster["admins"]:
        admin = Admin(url)
        try:
            assert set(admin.services()) >= expected, url
            assert len(admin.subscriptions()) == 2, url
        finally:
            admin.close()


def test_the_durable_rpc_tour_answers_through_every_node(cluster: dict[str, Any]) -> None:
    """``client --productId P --reservationId 1/2/1``, each call through another node."""
    answers = []
    for reservation, ingress in zip((1, 2, 1), cluster["ingresses"], strict=True):
        env = {**os.environ, "RESTATE_INGRESS_URL": ingress}
        command = ["uv", "run", "--package", "durablerpc", "client", "--productId", "cluster-tour"]
        done = subprocess.run(
            [*command, "--reservationId", str(reservation)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        answers.append(done.stdout.strip())
    assert answers == ["true", "false", "true"]


def test_a_kafka_record_through_one_broker_is_read_through_every_node(cluster: dict[str, Any]) -> None:
    from confluent_kafka import Producer

    first, second, third = cluster["ingresses"]
    body = {"finalDestination": "Berlin"}
    assert httpx.post(f"{first}/PackageTracker/cluster-pkg/RegisterPackage", json=body, timeout=30).is_success
    producer = Producer({"bootstrap.servers": f"127.0.0.1:{BROKERS[2]}"})
    update = {"timestamp": "2024-05-01T10:00:00Z", "location": "Paris"}
    producer.produce("package-location-updates", key=b"cluster-pkg", value=json.dumps(update).encode())
    assert producer.flush(30) == 0

    def located(ingress: str) -> bool:
        answer = httpx.post(f"{ingress}/PackageTracker/cluster-pkg/GetPackageInfo", timeout=10)
        return answer.is_success and answer.json()["locations"] == [update]

    for ingress in (second, third, first):
        wait_until(
            functools.partial(located, ingress), timeout=60, interval=0.3, what=f"the update on {ingress}"
        )


def test_ctrl_c_stops_every_node_and_broker(cluster: dict[str, Any]) -> None:
    process: subprocess.Popen[bytes] = cluster["process"]
    os.killpg(process.pid, signal.SIGINT)
    assert process.wait(timeout=120) == 0
    ports = [int(url.rsplit(":", 1)[1]) for url in cluster["ingresses"] + cluster["admins"]] + BROKERS
    assert [port for port in ports if not bindable(port)] == []
