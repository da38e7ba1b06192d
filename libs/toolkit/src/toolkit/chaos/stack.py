"""The stack a chaos run works on, and the faults it can inflict on it.

One real Restate server (the test harness's: request signing on, quick retries, and a short
inactivity timeout so that a paused service is given up on), one Kafka broker, and every pattern
service started with the workload's settings. Each service is a ``Member``: the process serving
it now, and any earlier deployments still finishing the invocations pinned to them. All the
processes of a service share one fakes ledger, so a redeployed service keeps its effects.

Faults, each of which the stack recovers from by itself:

- ``kill-service``: SIGKILL a service's process group, start it again on the same port;
- ``kill-server``: SIGKILL the Restate server, start it again on the same data;
- ``kill-kafka``: SIGKILL the broker, start it again on the same data;
- ``pause-service``: SIGSTOP a service for longer than the inactivity timeout, then SIGCONT;
- ``redeploy``: start a second process of a service on a new port and register it (invocations
  in flight stay on the old deployment), then stop the old one once nothing is pinned to it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from common.events import Subscription
from common.ingress import Admin
from toolkit.infra.cluster import wait_known
from toolkit.infra.kafka import KafkaBroker, KafkaCluster
from toolkit.infra.paths import free_port
from toolkit.infra.process import ManagedProcess
from toolkit.launcher import ServiceProcess
from toolkit.testing.harness import Harness
from toolkit.waiting import Timeout, wait_until

INACTIVITY_SECONDS = 4  # the server gives up on a silent invocation (then asks it to stop) after this
SERVER_ENV = {
    "RESTATE_WORKER__INVOKER__INACTIVITY_TIMEOUT": f"{INACTIVITY_SECONDS}s",
    "RESTATE_WORKER__INVOKER__ABORT_TIMEOUT": "2s",
}
DRAIN_SECONDS = 120.0  # an old deployment is stopped once idle, or after this


@dataclass
class Member:
    """One pattern's service: the process registered now, and older ones still draining."""

    name: str
    env: dict[str, str]
    workdir: Path
    current: ServiceProcess | None = None
    draining: list[ServiceProcess] = field(default_factory=list)
    generation: int = 0

    def spawn(self, harness: Harness) -> ServiceProcess:
        self.generation += 1
        process = ServiceProcess(
            self.name,
            port=free_port(),
            link=harness.link,
            workdir=self.workdir / f"deployment-{self.generation}",
            env={"LOG_LEVEL": "WARNING", **self.env},
            fakes_db=self.workdir / "fakes.sqlite",
        )
        process.start()
        process.wait_healthy()
        process.register(harness.admin)
        return process

    def pids(self) -> list[int]:
        everything = [self.current, *self.draining]
        return [p.process.pid for p in everything if p is not None and p.process.pid and p.process.alive()]


class ChaosStack:
    """The server, the broker and every service a chaos run drives."""

    def __init__(
        self,
        workdir: Path,
        services: dict[str, dict[str, str]],
        subscriptions: list[Subscription],
        *,
        nodes: int = 1,
        server_env: dict[str, str] | None = None,
    ) -> None:
        self.workdir = workdir
        self.harness = Harness(
            workdir / "stack", server_env={**SERVER_ENV, **(server_env or {})}, nodes=nodes
        )
        self.kafka = self.harness.kafka()
        self.admins = {s.node_name: Admin(s.admin_url) for s in self.harness.servers}
        self.down: set[str] = set()  # nodes being killed right now: the admin API of another answers
        self.members = {
            name: Member(name, env, workdir / "services" / name) for name, env in services.items()
        }
        for member in self.members.values():
            member.current = member.spawn(self.harness)
        self.known_everywhere()
        for subscription in subscriptions:
            self.harness.subscribe(subscription)

    @property
    def clustered(self) -> bool:
        return len(self.harness.servers) > 1

    @property
    def admin(self) -> Admin:
        """The admin API of a node that is up."""
        return next(admin for name, admin in self.admins.items() if name not in self.down)

    @property
    def ingresses(self) -> list[str]:
        return [s.ingress_url for s in self.harness.servers]

    def servers(self) -> list[str]:
        """What ``kill-server`` can hit: the one server, or each node of the cluster."""
        return [s.node_name for s in self.harness.servers] if self.clustered else ["restate-server"]

    def brokers(self) -> list[KafkaBroker]:
        return self.kafka.brokers if isinstance(self.kafka, KafkaCluster) else [self.kafka]

    def broker_names(self) -> list[str]:
        """What ``kill-kafka`` can hit: the one broker, or each broker of the cluster."""
        return [f"kafka-{b.node_id}" for b in self.brokers()] if self.clustered else ["kafka"]

    def ledger_path(self, name: str) -> Path:
        return self.members[name].workdir / "fakes.sqlite"

    def processes(self) -> dict[str, list[int]]:
        """Every process of the run by name: the server, the broker, each service's deployments."""
        found = {name: member.pids() for name, member in self.members.items()}
        brokers = self.kafka.brokers if isinstance(self.kafka, KafkaCluster) else [self.kafka]
        named: list[tuple[str, ManagedProcess | None]] = [
            (s.node_name if len(self.harness.servers) > 1 else "restate-server", s.process)
            for s in self.harness.servers
        ]
        named += [(f"kafka-{b.node_id}" if len(brokers) > 1 else "kafka", b.process) for b in brokers]
        for name, process in named:
            if process is not None and process.pid and process.alive():
                found[name] = [process.pid]
        return found

    def heaps(self) -> dict[str, float]:
        """Each server's live heap outside RocksDB's bounded cache, MiB (``memory_mib``)."""
        found = {}
        for name, server in zip(self.servers(), self.harness.servers, strict=True):
            if server.process.alive() and (memory := server.memory_mib()) is not None:
                found[name] = memory["heap"] - memory["rocksdb"]
        return found

    def known_everywhere(self) -> None:
        """Every node knows every service registered (see ``toolkit.infra.cluster.wait_known``)."""
        up = [s.admin_url for s in self.harness.servers if s.node_name not in self.down]
        wait_known(up, set(self.admin.services()))

    def close(self) -> None:
        for admin in self.admins.values():
            admin.close()
        for member in self.members.values():
            for process in [member.current, *member.draining]:
                if process is not None:
                    process.stop()
        self.harness.close()

    # -- faults ------------------------------------------------------------------------------
    def kill_service(self, name: str, down: float) -> None:
        process = self.members[name].current
        assert process is not None
        process.kill()
        time.sleep(down)
        process.restart()

    def kill_server(self, name: str, down: float) -> None:
        """SIGKILL the server (or the cluster node ``name``), start it again on its data."""
        server = self.harness.servers[self.servers().index(name)]
        self.down.add(server.node_name)
        try:
            server.kill()
            time.sleep(down)
            server.start()
            if self.clustered:  # back in rotation once it knows every service, not before
                wait_known([server.admin_url], set(self.admin.services()))
        finally:
            self.down.discard(server.node_name)

    def in_rotation(self) -> set[int]:
        """The servers whose ingress takes calls now: not being killed, restarted or catching up."""
        return {i for i, s in enumerate(self.harness.servers) if s.node_name not in self.down}

    def kill_kafka(self, name: str, down: float) -> None:
        """SIGKILL the broker (or the broker ``name`` of the cluster), start it again on its data."""
        broker = self.brokers()[self.broker_names().index(name)]
        broker.kill()
        time.sleep(down)
        broker.start()

    def pause_service(self, name: str, paused: float) -> None:
        process = self.members[name].current
        assert process is not None and process.process.pid is not None
        group = process.process.pid  # the service leads its own process group
        os.killpg(group, signal.SIGSTOP)
        try:
            time.sleep(paused)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGCONT)

    def redeploy(self, name: str) -> float:
        """A new deployment of ``name`` while its invocations run; how long the old one drained."""
        member = self.members[name]
        old = member.current
        assert old is not None
        member.current = member.spawn(self.harness)
        self.known_everywhere()
        member.draining.append(old)
        began = time.monotonic()
        with contextlib.suppress(Timeout):
            wait_until(lambda: self._idle(old), timeout=DRAIN_SECONDS, interval=0.5, what=f"{name} drained")
        old.stop()
        member.draining.remove(old)
        return time.monotonic() - began

    def _idle(self, process: ServiceProcess) -> bool:
        deployments = self.admin.http.get("/deployments").json()["deployments"]
        ids = [d["id"] for d in deployments if d.get("uri", "").rstrip("/") == process.url]
        if not ids:
            return True
        sql = (
            "SELECT count(*) AS n FROM sys_invocation WHERE status != 'completed'"
            f" AND pinned_deployment_id = '{ids[0]}'"
        )
        return int(self.admin.query(sql)[0]["n"]) == 0
