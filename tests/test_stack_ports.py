"""``patterns up`` checks all its ports before it starts anything: a taken one is named with the
process holding it, two parts of the stack asking for one port are refused, and it exits non-zero.
(A leftover stack on the same ports: ``test_stack_orphans``.)"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from common.events import CLUSTER
from toolkit.infra import kafka
from toolkit.infra.paths import free_port
from toolkit.infra.process import describe

ROOT = Path(__file__).resolve().parents[1]
KAFKA_PORT = kafka.broker_port(ROOT / "restate.toml", CLUSTER)
LISTENER = "import socket, sys; s = socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(); "
LISTENER += "print('listening', flush=True); sys.stdin.read()"


@contextmanager
def listener(port: int) -> Iterator[subprocess.Popen[str]]:
    """Another process listening on ``port`` until the block ends."""
    command = [sys.executable, "-c", LISTENER, str(port)]
    with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as holder:
        assert holder.stdout is not None and holder.stdout.readline() == "listening\n"
        yield holder
        holder.kill()


def up(tmp_path: Path, pattern: str, **ports: int) -> subprocess.CompletedProcess[str]:
    """``patterns up --only PATTERN`` on free ports but those given."""
    chosen = {name: ports.get(name) or free_port() for name in ("ingress", "admin", "node", "service")}
    argv = [str(Path(sys.executable).with_name("patterns")), "up", f"--only={pattern}"]
    argv += [f"--{name}-port={chosen[name]}" for name in ("ingress", "admin", "node")]
    env = {**os.environ, "PORT": str(chosen["service"])}
    argv.append(f"--data-dir={tmp_path / 'data'}")
    return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.stack
def test_a_taken_kafka_port_is_named_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", KAFKA_PORT)) == 0:
            pytest.skip(f"port {KAFKA_PORT} is in use: is a local stack (`uv run patterns up`) running?")
    with listener(KAFKA_PORT) as holder:
        expected = f"kafka port {KAFKA_PORT} is taken by {describe(holder.pid)}"
        done = up(tmp_path, "eventtransactions")
    assert done.returncode != 0, done.stdout
    assert expected in done.stderr
    assert "starting Kafka" not in done.stdout
    assert not (tmp_path / "data").exists()


def test_a_taken_service_port_is_named(tmp_path: Path) -> None:
    port = free_port()
    with listener(port) as holder:
        expected = f"queue port {port} is taken by {describe(holder.pid)}"
        done = up(tmp_path, "queue", service=port)
    assert done.returncode != 0, done.stdout
    assert expected in done.stderr
    assert not (tmp_path / "data").exists()


def test_two_parts_of_the_stack_asking_for_one_port_are_refused(tmp_path: Path) -> None:
    port = free_port()
    done = up(tmp_path, "durablerpc", ingress=port, admin=port)
    assert done.returncode != 0, done.stdout
    assert f"ingress and admin both want port {port}" in done.stderr
    assert not (tmp_path / "data").exists()
