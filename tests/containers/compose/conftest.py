"""The compose stack of ``test_compose_up.py``: images, ``up``, the registration, ``down -v``."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from common.ingress import Admin, Ingress
from toolkit.infra.compose import ComposeStack, ensure_podman
from toolkit.infra.paths import cache_dir, file_lock
from toolkit.infra.standins import ensure_standins
from toolkit.waiting import wait_until

ROOT = Path(__file__).resolve().parents[3]
MEMBERS = sorted(p.parent.name for p in ROOT.glob("services/*/Dockerfile"))
PORTS = (8080, 9070, 19092)  # what the compose file publishes on this machine


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Walk:
    """The running stack and clients of its published ingress and admin ports."""

    compose: ComposeStack
    admin: Admin
    ingress: Ingress

    def state(self, service: str, key: str) -> dict[str, Any]:
        """An object's or workflow's state, as ``restate kv get`` shows it."""
        return self.admin.state(service, key)

    def registered(self) -> bool:
        job = self.compose.container("register")
        if job is None or job["State"] != "exited":
            return False
        assert job["ExitCode"] == 0, self.compose.logs("register")
        deployments = self.admin.http.get("/deployments").json()["deployments"]
        return len(deployments) == len(MEMBERS) and len(self.admin.subscriptions()) == 2

    def up(self) -> None:
        """``podman-compose up``, then wait for the one-shot job to register everything."""
        self.compose.up()
        wait_until(self.registered, timeout=300, interval=2, what="the registration job")

    def ports_in_use(self) -> list[int]:
        return [port for port in PORTS if listening(port)]


@pytest.fixture(scope="module")
def walk(
    service_image: Callable[[str], Any], container_tools: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Walk]:
    ensure_podman()
    ensure_standins(ROOT)
    for member in [*MEMBERS, "toolkit"]:
        service_image(member)
    with file_lock(cache_dir() / ".compose.lock"):
        compose = ComposeStack(ROOT, "patterns-compose-test", tmp_path_factory.mktemp("compose") / "log")
        compose.down(volumes=True)  # whatever an interrupted run left
        busy = [port for port in PORTS if listening(port)]
        if busy:
            message = f"ports {busy} are taken: the compose file publishes {PORTS}"
            if os.environ.get("CI"):
                pytest.fail(message)
            pytest.skip(message)
        walk = Walk(compose, Admin("http://127.0.0.1:9070"), Ingress("http://127.0.0.1:8080", timeout=120))
        try:
            walk.up()
            yield walk
        finally:
            walk.admin.close()
            walk.ingress.close()
            compose.down(volumes=True)
