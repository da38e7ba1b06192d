"""Starting a pattern service, the one way the local stack, the test harness and the benchmark do.

A service gets its environment from its own settings class: each shared field (port, host, the
server's URLs, the signing key, the fakes' ledger, the log format, the Kafka broker) is set under
the name that class reads it by, so a field a pattern lacks is never set and a renamed variable
cannot drift between the launch paths. The process is the service's real ``serve`` command; it
counts as started once ``/health`` answers, and ``register`` makes it the deployment the server
uses (``force``, so a restarted service with a new schema replaces the old one).

    ServerLink + pattern name --environment--> serve NAME --/health--> register(force)

Compose sets the same variables in ``docker-compose.yml`` (checked by ``tests/containers``).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from common.cli import installed_patterns
from common.events import DEFAULT_BOOTSTRAP
from common.ingress import Admin
from common.pattern import Pattern
from toolkit.infra.process import ManagedProcess
from toolkit.waiting import GiveUp, wait_until


@dataclass(frozen=True)
class ServerLink:
    """What a service needs to know of its Restate server (and of the Kafka broker beside it)."""

    ingress_url: str
    admin_url: str
    identity: str = ""  # the server's public signing key; "" leaves request signing off
    kafka_bootstrap: str = DEFAULT_BOOTSTRAP


def load_pattern(name: str) -> Pattern[Any]:
    patterns = installed_patterns()
    if name not in patterns:
        raise KeyError(f"unknown pattern {name!r}; installed: {', '.join(sorted(patterns))}")
    pattern = patterns[name].load()
    assert isinstance(pattern, Pattern), f"entry point {name} is not a Pattern"
    return pattern


def env_name(settings: type[BaseSettings], field: str) -> str:
    """The environment variable ``settings`` reads ``field`` from."""
    alias = settings.model_fields[field].validation_alias
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    if isinstance(alias, str):
        return alias
    return (str(settings.model_config.get("env_prefix") or "") + field).upper()


def service_environment(
    pattern: Pattern[Any], *, port: int, link: ServerLink, fakes_db: Path, log_format: str = "console"
) -> dict[str, str]:
    """The variables of the shared settings fields, named as ``pattern``'s settings read them."""
    values = {
        "port": port,
        "host": "127.0.0.1",
        "ingress_url": link.ingress_url,
        "admin_url": link.admin_url,
        "identity_keys": link.identity,
        "fakes_db": fakes_db,
        "log_format": log_format,
        "kafka_bootstrap_servers": link.kafka_bootstrap,
    }
    fields = pattern.settings.model_fields
    return {env_name(pattern.settings, f): str(v) for f, v in values.items() if f in fields}


class ServiceProcess:
    """One pattern service, run through ``serve NAME`` on ``port`` with its own ledger."""

    def __init__(
        self,
        name: str,
        *,
        port: int,
        link: ServerLink,
        workdir: Path,
        env: dict[str, str] | None = None,
        log_path: Path | None = None,
        fakes_db: Path | None = None,
        pattern: Pattern[Any] | None = None,
        argv: list[str] | None = None,
    ) -> None:
        """``pattern`` and ``argv`` serve something that is not an installed pattern (the
        benchmark's floor): its ``Pattern`` and the command that serves it."""
        self.name = name
        self.pattern = pattern or load_pattern(name)
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.ledger_path = fakes_db or workdir / "fakes.sqlite"
        own = service_environment(self.pattern, port=port, link=link, fakes_db=self.ledger_path)
        self.env = {**os.environ, **own, **(env or {})}
        serve = Path(sys.executable).with_name("serve")
        self.process = ManagedProcess(
            name, argv or [str(serve), name], log_path=log_path or workdir / "service.log", env=self.env
        )

    def health(self) -> dict[str, object] | None:
        try:
            response = httpx.get(f"{self.url}/health", timeout=1)
        except httpx.HTTPError:
            return None
        return dict(response.json()) if response.status_code == 200 else None

    def start(self) -> None:
        """Start the process; ``wait_healthy`` waits for it."""
        self.process.start()

    def wait_healthy(self, timeout: float = 60) -> None:
        def up() -> dict[str, object] | None:
            if not self.process.alive():
                raise GiveUp(f"{self.name} exited early:\n{self.process.tail()}")
            return self.health()

        wait_until(up, timeout=timeout, interval=0.1, what=f"{self.name} /health on {self.url}")

    def register(self, admin: Admin) -> list[str]:
        """Make this process the deployment of its services; the names of those services."""
        return admin.register(self.url, force=True)

    def stop(self) -> None:
        self.process.stop()

    def kill(self) -> None:
        """Crash the service: SIGKILL its process group."""
        self.process.kill()

    def restart(self) -> None:
        """Start it again on the same port, environment and ledger (after ``kill`` or ``stop``)."""
        if self.process.alive():
            self.process.stop()
        self.start()
        self.wait_healthy()
