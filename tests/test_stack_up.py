"""The README's start command, for real: ``patterns up`` brings up Restate, Kafka and every
installed pattern on its contract port, registered and subscribed; the README's durable RPC tour
answers true, false, true through it; Ctrl-C stops everything.

The services listen on their contract ports (9081-9092), so this test cannot run beside a local
stack a user already started: it then skips, saying so (and fails in CI, where nothing else runs).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from common.cli import installed_patterns
from common.ingress import Admin
from toolkit.infra import kafka
from toolkit.infra.paths import free_port
from toolkit.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.stack]

ROOT = Path(__file__).resolve().parents[1]
PATTERNS = {name: entry.load() for name, entry in installed_patterns().items()}
PORTS = {name: pattern.port for name, pattern in PATTERNS.items()}
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


class Output:
    """The stack's stdout, collected line by line while it runs."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        assert process.stdout is not None
        self._stdout = process.stdout
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self._stdout:
            self.lines.append(line.rstrip("\n"))

    def text(self) -> str:
        return "\n".join(self.lines)

    def join(self) -> None:
        self._reader.join(timeout=30)

    def close(self) -> None:
        self._stdout.close()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    busy = [port for port in [*PORTS.values(), 19092] if listening(port)]
    if busy:
        message = f"ports {busy} are in use: is a local stack (`uv run patterns up`) running?"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    ingress, admin = free_port(), free_port()
    command = [
        str(Path(sys.executable).with_name("patterns")),
        "up",
        f"--ingress-port={ingress}",
        f"--admin-port={admin}",
        f"--node-port={free_port()}",
        f"--data-dir={tmp_path_factory.mktemp('stack')}",
    ]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, like a job in a terminal
    )
    output = Output(process)
    client = Admin(f"http://127.0.0.1:{admin}")
    run = {"process": process, "output": output, "ingress": f"http://127.0.0.1:{ingress}", "admin": client}
    try:
        wait_until(
            lambda: "Ctrl-C stops everything." in output.text() or process.poll() is not None,
            timeout=300,
            interval=0.2,
            what="the stack to come up",
        )
        assert process.poll() is None, output.text()
        yield run
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
        output.join()
        output.close()
        client.close()


def test_every_pattern_is_up_registered_and_signed(stack: dict[str, Any]) -> None:
    admin: Admin = stack["admin"]
    expected = {s.name for p in PATTERNS.values() for s in p.services(p.load_settings())}
    assert set(admin.services()) >= expected
    deployments = admin.http.get("/deployments").json()["deployments"]
    uris = {d.get("uri") for d in deployments}
    assert {f"http://127.0.0.1:{port}/" for port in PORTS.values()} <= {u.rstrip("/") + "/" for u in uris}
    for name, port in PORTS.items():
        health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).json()
        assert health["pattern"] == name
    # Request signing is on: a direct unsigned call to a service is refused.
    unsigned = httpx.post(
        f"http://127.0.0.1:{PORTS['durablerpc']}/invoke/ProductService/Reserve", content=b"", timeout=5
    )
    assert unsigned.status_code == 401
    assert re.search(r"signing +on: publickeyv1_\w+", stack["output"].text())


def test_kafka_runs_and_both_subscriptions_exist(stack: dict[str, Any]) -> None:
    reason = kafka.unavailable_reason()
    text = stack["output"].text()
    kafka_patterns = {name for name, pattern in PATTERNS.items() if pattern.subscriptions}
    if reason is not None:
        assert not IN_CI, f"CI needs Kafka: {reason}"
        assert f"not started (no Kafka): {', '.join(sorted(kafka_patterns))}" in text
        return
    assert "kafka     127.0.0.1:19092 (cluster my-cluster)" in text
    subscribed = {(s["source"], s["sink"]) for s in stack["admin"].subscriptions()}
    wanted = {(sub.source, sub.sink) for name in kafka_patterns for sub in PATTERNS[name].subscriptions}
    assert len(wanted) == 2 and wanted <= subscribed


def test_the_readme_tour_of_durable_rpc(stack: dict[str, Any]) -> None:
    env = {**os.environ, "RESTATE_INGRESS_URL": stack["ingress"]}
    answers = []
    for reservation in (1, 2, 1):
        command = ["uv", "run", "--package", "durablerpc", "client", "--productId", "tour"]
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


def test_ctrl_c_stops_everything_and_logs_stay_whole_lines(stack: dict[str, Any]) -> None:
    process: subprocess.Popen[str] = stack["process"]
    os.killpg(process.pid, signal.SIGINT)  # what a terminal sends on Ctrl-C
    assert process.wait(timeout=120) == 0
    output: Output = stack["output"]
    output.join()
    assert re.search(r"^stopped after \d+s$", output.text(), re.MULTILINE)
    assert not [port for port in [*PORTS.values(), 19092] if listening(port)]
    # The services' logs are streamed one whole line at a time, each behind its pattern's name.
    banner = output.lines.index("Ctrl-C stops everything.")
    streamed = [line for line in output.lines[banner + 1 :] if line and not line.startswith("stop")]
    assert streamed
    names = "|".join(PATTERNS)
    start, label = re.compile(rf"^ *({names}) \| "), re.compile(rf"\b({names}) \| ")
    assert [line for line in streamed if not start.match(line) or len(label.findall(line)) != 1] == []
