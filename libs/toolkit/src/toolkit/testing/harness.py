"""A real ``restate-server`` and pattern services as subprocesses, for tests.

The server runs on free loopback ports with a temp base dir and request signing on; each
service is launched as the local stack launches it (``toolkit.launcher``: its real ``serve``
command, its environment derived from its settings class), on a free port, registered with
``force``. Both can be crashed (SIGKILL of the process group) and restarted on the same data.

The server reads the project's ``restate.toml`` with the test settings of
``toolkit.infra.serverconfig``: the Kafka cluster ``my-cluster`` at a broker port reserved up
front, short consumer sessions, quick retries. The broker itself starts on first use
(``harness.kafka()``), so tests without Kafka never pay for it.
"""

from __future__ import annotations

from pathlib import Path

from common.events import Subscription
from common.fakes import Ledger
from common.ingress import Admin, Ingress
from toolkit.infra import serverconfig
from toolkit.infra.cluster import RestateCluster
from toolkit.infra.kafka import KafkaBroker, KafkaCluster
from toolkit.infra.keys import ensure_keypair
from toolkit.infra.paths import free_port, project_root
from toolkit.infra.restate import RestatePorts, RestateServer
from toolkit.launcher import ServerLink, ServiceProcess


class ServiceHandle(ServiceProcess):
    """One running pattern service (``toolkit.launcher``) on a free port, with its own ledger."""

    def __init__(self, harness: Harness, name: str, env: dict[str, str], workdir: Path) -> None:
        self.harness = harness
        super().__init__(name, port=free_port(), link=harness.link, workdir=workdir, env=env)
        self._ledger: Ledger | None = None

    @property
    def ledger(self) -> Ledger:
        if self._ledger is None:
            self._ledger = Ledger(self.ledger_path)
        return self._ledger

    def start(self) -> None:
        super().start()
        self.wait_healthy(timeout=30)

    def register(self) -> list[str]:  # type: ignore[override]
        return super().register(self.harness.admin)


class Harness:
    """The server, its clients, and the services started so far (one per name and env)."""

    def __init__(self, workdir: Path, *, server_env: dict[str, str] | None = None, nodes: int = 1) -> None:
        """``server_env``: more of Restate's settings for this server (``RESTATE_...``). ``nodes``
        > 1: a cluster of that many Restate nodes (``toolkit.infra.cluster``) and as many Kafka
        brokers; ``server`` is then the first node, ``servers`` all of them."""
        self.workdir = workdir
        signing_key, self.identity = ensure_keypair(workdir / "keys")
        self.kafka_ports = [free_port() for _ in range(nodes)]
        self.kafka_port = self.kafka_ports[0]
        self.kafka_broker: KafkaBroker | KafkaCluster | None = None
        config = serverconfig.config_file(project_root())
        env = {**serverconfig.for_tests(*self.kafka_ports), **(server_env or {})}
        if nodes == 1:
            single = RestateServer(
                workdir / "restate-data",
                config_file=config,
                signing_key=signing_key,
                env=env,
                log_path=workdir / "restate-server.log",
            )
            single.start()
            self.servers = [single]
        else:
            ports = [RestatePorts() for _ in range(nodes)]
            cluster = RestateCluster(
                workdir / "restate-data",
                ports,
                config_file=config,
                signing_key=signing_key,
                env=env,
                log_dir=workdir,
            )
            cluster.start()
            self.servers = cluster.nodes
        self.server = self.servers[0]
        self.ingress = Ingress(self.server.ingress_url)
        self.admin = Admin(self.server.admin_url)
        bootstrap = ",".join(f"127.0.0.1:{port}" for port in self.kafka_ports)
        self.link = ServerLink(self.server.ingress_url, self.server.admin_url, self.identity, bootstrap)
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

    def kafka(self) -> KafkaBroker | KafkaCluster:
        """The Kafka broker (or brokers) of ``my-cluster``, started on first use (needs Java 17
        and Maven)."""
        if self.kafka_broker is None:
            broker: KafkaBroker | KafkaCluster
            if len(self.kafka_ports) > 1:
                broker = KafkaCluster(self.workdir / "kafka", ports=self.kafka_ports, log_dir=self.workdir)
            else:
                broker = KafkaBroker(
                    self.workdir / "kafka",
                    port=self.kafka_port,
                    log_path=self.workdir / "kafka.log",
                    heap="384m",
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
        for server in reversed(self.servers):
            server.stop()
        if self.kafka_broker is not None:
            self.kafka_broker.stop()
        self.ingress.close()
        self.admin.close()
