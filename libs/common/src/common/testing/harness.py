"""A real ``restate-server`` and pattern services as subprocesses, for tests.

The server runs on free loopback ports with a temp base dir and request signing on; each
service runs through the same ``serve`` command users run, on a free port, registered with
``force``. Both can be crashed (SIGKILL of the process group) and restarted on the same data.

The server's config names the Kafka cluster ``my-cluster`` at a broker port reserved up front;
the broker itself starts on first use (``harness.kafka()``), so tests without Kafka never pay
for it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import httpx

from common.events import Subscription
from common.fakes import Ledger
from common.infra.kafka import KafkaBroker
from common.infra.keys import ensure_keypair
from common.infra.paths import free_port
from common.infra.process import ManagedProcess
from common.infra.restate import RestateServer
from common.ingress import Admin, Ingress
from common.waiting import GiveUp, wait_until

# Fast retries so a test waiting on a restarted service does not sit in a one-minute backoff.
TEST_SERVER_ENV = {
    "RESTATE_DEFAULT_RETRY_POLICY__INITIAL_INTERVAL": "100ms",
    "RESTATE_DEFAULT_RETRY_POLICY__MAX_INTERVAL": "2s",
}

# Short consumer sessions, so that after a crash of the server its new consumer gets the
# partitions in seconds instead of waiting for the old member's 45 s session to expire.
TEST_SERVER_CONFIG = """\
[[ingress.kafka-clusters]]
name = "my-cluster"
brokers = ["PLAINTEXT://127.0.0.1:{port}"]
"session.timeout.ms" = "3000"
"heartbeat.interval.ms" = "500"
"""


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
            "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{harness.kafka_port}",
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
                raise GiveUp(f"{self.name} exited early:\n{self.process.tail()}")
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
        self.kafka_port = free_port()
        self.kafka_broker: KafkaBroker | None = None
        config = workdir / "restate.toml"
        config.write_text(TEST_SERVER_CONFIG.format(port=self.kafka_port))
        self.server = RestateServer(
            workdir / "restate-data",
            config_file=config,
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

    def forget(self, name: str) -> None:
        """Another deployment of ``name`` (a container, say) was registered behind the harness's
        back: the next ``service(name)`` registers its own process again."""
        self._active.pop(name, None)

    def kafka(self) -> KafkaBroker:
        """The Kafka broker of ``my-cluster``, started on first use (needs Java 17 and Maven)."""
        if self.kafka_broker is None:
            broker = KafkaBroker(
                self.workdir / "kafka", port=self.kafka_port, log_path=self.workdir / "kafka.log", heap="384m"
            )
            try:
                broker.start()
            except Exception as error:
                log = broker.tail(40)
                broker.kill()
                raise RuntimeError(f"Kafka did not start on {broker.bootstrap}: {error}\n{log}") from error
            self.kafka_broker = broker
        return self.kafka_broker

    def subscribe(self, subscription: Subscription) -> None:
        """Create the subscription's topics and the subscription itself (idempotent); the sink's
        service must be registered already."""
        self.kafka().create_topics(subscription.topics)
        self.admin.subscribe(subscription.source, subscription.sink, {"auto.offset.reset": "earliest"})

    def close(self) -> None:
        for handle in self._services.values():
            handle.stop()
        self.server.stop()
        if self.kafka_broker is not None:
            self.kafka_broker.stop()
        self.ingress.close()
        self.admin.close()
