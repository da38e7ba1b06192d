"""The compose stacks of ``test_compose_up.py`` (docker-compose.yml) and ``test_compose_cluster.py``
(with docker-compose.cluster.yml on top): images, ``up``, the registration, ``down -v``."""

from __future__ import annotations

import json
import os
import pty
import select
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from common.ingress import Admin, Ingress
from toolkit.infra import jaeger
from toolkit.infra.compose import ComposeStack, ensure_podman
from toolkit.infra.paths import cache_dir, file_lock
from toolkit.infra.standins import ensure_standins
from toolkit.waiting import wait_until

ROOT = Path(__file__).resolve().parents[3]
MEMBERS = sorted(p.parent.name for p in ROOT.glob("services/*/Dockerfile"))
PORTS = (8080, 9070, 16686, 19092)  # what the compose file publishes on this machine
JAEGER = "http://127.0.0.1:16686"  # Jaeger's UI and query API
# What the cluster override publishes besides: nodes 2 and 3, brokers 2 and 3.
CLUSTER_PORTS = (*PORTS, 28080, 29070, 38080, 39070, 19093, 19094)
NODE_OFFSETS = (0, 20000, 30000)  # node n's ingress and admin ports: 8080 and 9070 plus its offset
DECLINED_CARD = "4000000000000002"  # the card the walk-through's payment provider declines


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Walk:
    """The running stack and clients of its published ingress and admin ports."""

    compose: ComposeStack
    admin: Admin
    ingress: Ingress
    ports: tuple[int, ...] = PORTS
    # Every node's ingress and admin, the first node's first (one of each on a single node).
    ingresses: list[Ingress] = field(default_factory=list)
    admins: list[Admin] = field(default_factory=list)

    def state(self, service: str, key: str) -> dict[str, Any]:
        """An object's or workflow's state, as ``restate kv get`` shows it."""
        return self.admin.state(service, key)

    def registered(self) -> bool:
        """Both jobs done: the topics created (on a cluster once the brokers formed their quorum)
        and every deployment and subscription registered."""
        for name in ("kafka-topics", "register"):
            job = self.compose.container(name)
            if job is None or job["State"] != "exited":
                return False
            assert job["ExitCode"] == 0, self.compose.logs(name)
        deployments = self.admin.http.get("/deployments").json()["deployments"]
        return len(deployments) == len(MEMBERS) and len(self.admin.subscriptions()) == 2

    def up(self) -> None:
        """``podman-compose up``, then wait for the one-shot job to register everything."""
        self.compose.up()
        wait_until(self.registered, timeout=300, interval=2, what="the registration job")

    def ports_in_use(self) -> list[int]:
        return [port for port in self.ports if listening(port)]

    def trace(self, target: str) -> list[dict[str, Any]]:
        """The spans of the trace with an invocation of ``target`` (``BookingWorkflow/trip1/Run``),
        from Jaeger's query API as its UI reads it, in start order: each with its ``name``,
        ``service``, ``instance`` (a Restate node's is ``<cluster>/<node>``), ``start``, ``end``
        and ``tags``. Empty until Jaeger has such a trace."""
        params = {
            "service": "Restate",
            "tags": json.dumps({"restate.invocation.target": target}),
            "lookback": "1h",
        }
        answer = httpx.get(f"{JAEGER}/api/traces", params=params, timeout=10)
        answer.raise_for_status()
        for trace in answer.json()["data"] or []:
            processes = trace["processes"]
            spans = [
                {
                    "name": span["operationName"],
                    "service": processes[span["processID"]]["serviceName"],
                    "instance": _tag(processes[span["processID"]]["tags"], "service.instance.id"),
                    "start": span["startTime"],
                    "end": span["startTime"] + span["duration"],
                    "tags": _tags(span["tags"]),
                }
                for span in trace["spans"]
            ]
            return sorted(spans, key=lambda span: span["start"])
        return []


def _tags(tags: list[dict[str, Any]]) -> dict[str, Any]:
    return {tag["key"]: tag["value"] for tag in tags}


def _tag(tags: list[dict[str, Any]], key: str) -> Any:
    return _tags(tags).get(key)


@contextmanager
def running(
    project: str,
    log_dir: Path,
    *,
    files: tuple[str, ...] = (),
    nodes: int = 1,
    ports: tuple[int, ...] = PORTS,
    env: dict[str, str] | None = None,
) -> Iterator[Walk]:
    """The compose stack up and registered, then down with its volumes. One stack at a time on this
    machine (they publish the same ports), whichever test session starts it."""
    with file_lock(cache_dir() / ".compose.lock"):
        compose = ComposeStack(ROOT, project, log_dir / "log", files)
        compose.env.update(env or {})
        compose.down(volumes=True)  # whatever an interrupted run left
        busy = [port for port in ports if listening(port)]
        if busy:
            message = f"ports {busy} are taken: the compose file publishes {ports}"
            if os.environ.get("CI"):
                pytest.fail(message)
            pytest.skip(message)
        offsets = NODE_OFFSETS[:nodes]
        ingresses = [Ingress(f"http://127.0.0.1:{8080 + offset}", timeout=120) for offset in offsets]
        admins = [Admin(f"http://127.0.0.1:{9070 + offset}") for offset in offsets]
        walk = Walk(compose, admins[0], ingresses[0], ports, ingresses, admins)
        try:
            walk.up()
            yield walk
        finally:
            for client in [*ingresses, *admins]:
                client.close()
            compose.down(volumes=True)


@pytest.fixture(scope="module")
def images(service_image: Callable[[str], Any], container_tools: None) -> None:
    """Podman, the stand-ins and every image the compose file runs, built once. Jaeger's stand-in
    needs Go (its binary is built from the Go module) or ``$JAEGER_BIN``."""
    reason = jaeger.unavailable_reason()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"the compose file's Jaeger cannot be made here: {reason}")
        pytest.skip(f"the compose file's Jaeger cannot be made here: {reason}")
    ensure_podman()
    ensure_standins(ROOT)
    for member in [*MEMBERS, "toolkit", "broker"]:
        service_image(member)


@pytest.fixture(scope="module")
def docker_host(walk: Walk, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The environment under which the ``docker`` client drives this machine's podman: podman's
    Docker-compatible API on a socket of its own, so a README's ``docker ...`` command runs as
    written."""
    socket_path = tmp_path_factory.mktemp("docker") / "podman.sock"
    env = {**walk.compose.env, "DOCKER_HOST": f"unix://{socket_path}"}
    service = subprocess.Popen(
        ["podman", "system", "service", "--time=0", f"unix://{socket_path}"],
        env=walk.compose.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(socket_path.exists, timeout=30, interval=0.2, what="podman's API socket")
        yield env
    finally:
        service.terminate()
        service.wait(timeout=30)


def typed(argv: list[str], lines: list[str], env: dict[str, str], timeout: float = 180) -> str:
    """Run ``argv`` on a terminal, as a user at a prompt would: wait for its ``>`` prompt, type
    ``lines``, then Ctrl-D; what it printed."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(argv, stdin=follower, stdout=follower, stderr=follower, env=env)
    os.close(follower)
    shown = bytearray()
    deadline = time.monotonic() + timeout

    def read_until(done: Callable[[], bool]) -> None:
        while not done() and time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.2)
            if ready:
                try:
                    shown.extend(os.read(leader, 4096))
                except OSError:  # the terminal closed: the program is gone
                    return

    try:
        read_until(lambda: b">" in shown or process.poll() is not None)
        for line in lines:
            os.write(leader, line.encode() + b"\r")
        read_until(lambda: lines[-1].encode()[-20:] in shown or process.poll() is not None)
        os.write(leader, b"\x04")
        read_until(lambda: process.poll() is not None)
        # The program may close the terminal a moment before it has exited: wait for it.
        process.wait(timeout=max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        raise AssertionError(f"{argv[:3]} did not end:\n{shown.decode(errors='replace')}") from None
    finally:
        os.close(leader)
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, shown.decode(errors="replace")
    return shown.decode(errors="replace")


@pytest.fixture(scope="module")
def walk(images: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Walk]:
    # The schedulingtasks demo's timing and the sagas' one declined card (the README's "Break
    # it"), through the compose file's pass-throughs.
    env = {
        "SCHEDULINGTASKS_REMINDER_SECONDS": "2",
        "SAGAS_PAYMENT__DECLINE__MODE": "match",
        "SAGAS_PAYMENT__DECLINE__MATCH": json.dumps([DECLINED_CARD]),
        "SAGAS_PAYMENT__FAILURE__MODE": "off",
    }
    with running("patterns-compose-test", tmp_path_factory.mktemp("compose"), env=env) as walk:
        yield walk


@pytest.fixture(scope="module")
def cluster(images: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Walk]:
    log_dir = tmp_path_factory.mktemp("compose-cluster")
    files = ("docker-compose.cluster.yml",)
    with running("patterns-cluster-test", log_dir, files=files, nodes=3, ports=CLUSTER_PORTS) as walk:
        yield walk
