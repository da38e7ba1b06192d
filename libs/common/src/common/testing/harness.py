"""A real ``restate-server`` and pattern services as subprocesses, for tests.

The server runs on free loopback ports with a temp base dir and request signing on; each
service runs through the same ``serve`` command users run, on a free port, registered with
``force``. Both can be crashed (SIGKILL of the process group) and restarted on the same data.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import httpx

from common.fakes import Ledger
from common.infra.keys import ensure_keypair
from common.infra.paths import free_port
from common.infra.process import ManagedProcess
from common.infra.restate import RestateServer
from common.ingress import Admin, Ingress
from common.waiting import wait_until

# Fast retries so a test waiting on a restarted service does not sit in a one-minute backoff.
TEST_SERVER_ENV = {
    "RESTATE_DEFAULT_RETRY_POLICY__INITIAL_INTERVAL": "100ms",
    "RESTATE_DEFAULT_RETRY_POLICY__MAX_INTERVAL": "2s",
}


class ServiceHandle:
    """One running pattern service: ``serve <name>`` on its own port, with its own ledger."""

    def __init__(self, harness: Harness, name: str, env: dict[str, str], workdir: Path) -> None:
        self.harness = harness
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ledger_path = workdir / "fakes.sqlite"
        self.env = {
            **os.environ,
            "PORT": str(self.port),
            "HOST": "127.0.0.1",
            "RESTATE_IDENTITY_KEYS": harness.identity,
            "RESTATE_INGRESS_URL": harness.server.ingress_url,
            "RESTATE_ADMIN_URL": harness.server.admin_url,
            "FAKES_DB": str(self.ledger_path),
            "LOG_FORMAT": "console",
            **env,
        }
        serve = Path(sys.executable).with_name("serve")
        self.process = ManagedProcess(
            f"service {name}", [str(serve), name], log_path=workdir / "service.log", env=self.env
        )
        self._ledger: Ledger | None = None

    @property
    def ledger(self) -> Ledger:
        if self._ledger is None:
            self._ledger = Ledger(self.ledger_path)
        return self._ledger

    def health(self) -> dict[str, object] | None:
        try:
            response = httpx.get(f"{self.url}/health", timeout=1)
        except httpx.HTTPError:
            return None
        return dict(response.json()) if response.status_code == 200 else None

    def start(self) -> None:
        self.process.start()

        def up() -> dict[str, object] | None:
            if not self.process.alive():
                raise RuntimeError(f"{self.name} exited early:\n{self.process.tail()}")
            return self.health()

        wait_until(up, timeout=30, interval=0.1, what=f"{self.name} /health")

    def register(self) -> list[str]:
        return self.harness.admin.register(self.url, force=True)

    def kill(self) -> None:
        """Crash the service: SIGKILL its process group."""
        self.process.kill()

    def restart(self) -> None:
        """Start it again on the same port, env and ledger (after ``kill`` or ``stop``)."""
        if self.process.alive():
            self.process.stop()
        self.start()

    def stop(self) -> None:
        self.process.stop()


class Harness:
    """The server, its clients, and the services started so far (one per name and env)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        signing_key, self.identity = ensure_keypair(workdir / "keys")
        self.server = RestateServer(
            workdir / "restate-data",
            signing_key=signing_key,
            env=TEST_SERVER_ENV,
            log_path=workdir / "restate-server.log",
        )
        self.server.start()
        self.ingress = Ingress(self.server.ingress_url)
        self.admin = Admin(self.server.admin_url)
        self._services: dict[tuple[str, tuple[tuple[str, str], ...]], ServiceHandle] = {}
        self._active: dict[str, ServiceHandle] = {}

    def service(self, name: str, **env: str) -> ServiceHandle:
        """The service ``name`` started with ``env`` on top of the defaults, registered as the
        deployment Restate uses for its services from now on."""
        key = (name, tuple(sorted(env.items())))
        handle = self._services.get(key)
        if handle is None:
            workdir = self.workdir / "services" / f"{name}-{len(self._services)}"
            handle = ServiceHandle(self, name, dict(env), workdir)
            handle.start()
            self._services[key] = handle
        if not handle.process.alive():
            handle.restart()
        if self._active.get(name) is not handle:
            handle.register()
            self._active[name] = handle
        return handle

    def handles(self) -> list[ServiceHandle]:
        return list(self._services.values())

    def close(self) -> None:
        for handle in self._services.values():
            handle.stop()
        self.server.stop()
        self.ingress.close()
        self.admin.close()
