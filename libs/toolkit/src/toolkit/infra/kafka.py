"""A real Apache Kafka broker (KRaft mode) as a child process, alone or one of a quorum.

The jars come from Maven Central: ``mvn dependency:copy-dependencies`` on the pom shipped beside
this module (``kafka-pom.xml``, pinned to ``KAFKA_VERSION``) copies them once into the project's
cache. A data dir is formatted once (``kafka.tools.StorageTool``) and reused by restarts. The
broker listens on loopback only, and new consumer groups join at once
(``group.initial.rebalance.delay.ms=0``). The local stack and the test fixtures both run it
through ``KafkaBroker``.

``KafkaCluster`` runs several brokers that are each also a controller of one KRaft quorum: all
formatted with one cluster id, the internal topics and every new topic replicated to each broker,
and a write acknowledged once two replicas have it (``min.insync.replicas`` 2), so one broker can
be lost without losing a record or stopping writes.
"""

from __future__ import annotations

import base64
import logging
import re
import shutil
import socket
import subprocess
import tomllib
import uuid
from collections.abc import Iterable
from importlib.resources import files
from pathlib import Path

from common.events import DEFAULT_KAFKA_PORT
from toolkit.infra.paths import cache_dir, file_lock, free_port
from toolkit.infra.process import ManagedProcess
from toolkit.waiting import GiveUp, wait_until

KAFKA_VERSION = "4.1.1"
DEFAULT_PORT = DEFAULT_KAFKA_PORT
JAVA_MIN_VERSION = 17

log = logging.getLogger(__name__)

_LOG4J2 = """\
status = warn
shutdownHook = disable
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.stdout.ref = STDOUT
logger.server.name = kafka.server.KafkaRaftServer
logger.server.level = INFO
"""


def java_version(java: str) -> int | None:
    """The major version of ``java`` (``17`` for ``openjdk version "17.0.15"``)."""
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if match is None:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major  # "1.8.0" is Java 8


def unavailable_reason() -> str | None:
    """Why a broker cannot run on this machine, or None when it can."""
    java, mvn = shutil.which("java"), shutil.which("mvn")
    missing = [name for name, path in (("Java 17+ (java)", java), ("Maven (mvn)", mvn)) if path is None]
    if missing:
        return f"{' and '.join(missing)} not found on PATH"
    version = java_version(str(java))
    if version is None or version < JAVA_MIN_VERSION:
        return f"Kafka {KAFKA_VERSION} needs Java {JAVA_MIN_VERSION}+, found {version or 'unknown'} ({java})"
    return None


def ensure_kafka(version: str = KAFKA_VERSION) -> Path:
    """The directory of the broker's jars, copied from Maven Central into the cache on first use."""
    root = cache_dir() / "kafka" / version
    libs, done = root / "libs", root / ".complete"
    with file_lock(root.parent / f".{version}.lock"):
        if done.exists():
            return libs
        reason = unavailable_reason()
        if reason is not None:
            raise RuntimeError(f"cannot install Kafka {version}: {reason}")
        log.info("installing Kafka %s with Maven into %s", version, root)
        root.mkdir(parents=True, exist_ok=True)
        pom = root / "pom.xml"
        pom.write_text((files("toolkit.infra") / "kafka-pom.xml").read_text())
        if version not in pom.read_text():
            raise RuntimeError(f"kafka-pom.xml does not pin Kafka {version}")
        shutil.rmtree(libs, ignore_errors=True)
        outdir = [f"-DoutputDirectory={libs}"]
        subprocess.run(
            [str(shutil.which("mvn")), "-q", "-B", "-f", str(pom), "dependency:copy-dependencies", *outdir],
            check=True,
            cwd=root,
        )
        done.write_text(version + "\n")
    return libs


def broker_port(server_config: Path, cluster: str, default: int = DEFAULT_PORT) -> int:
    """The port of ``cluster``'s first broker in a Restate server config (``restate.toml``)."""
    settings = tomllib.loads(server_config.read_text()) if server_config.exists() else {}
    for entry in settings.get("ingress", {}).get("kafka-clusters", []):
        if entry.get("name") == cluster and entry.get("brokers"):
            return int(str(entry["brokers"][0]).rsplit(":", 1)[1])
    return default


def cluster_id() -> str:
    """A random cluster id as Kafka's own ``Uuid.randomUuid`` makes them: 16 random bytes in URL-safe
    base64 without padding, drawn again while the text holds a ``-`` (one id in 64 would start with
    one, and ``StorageTool format -t <id>`` reads that as an option; Kafka's generator has skipped a
    leading ``-`` from the start and, since KAFKA-20072, any). A version-4 UUID is never one of
    Kafka's reserved ids (0 and 1)."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if "-" not in text:
            return text


class KafkaBroker:
    """One broker+controller on ``127.0.0.1:port`` with its data in ``data_dir``.

    ``restart()`` keeps the data and the ports; ``kill()`` is a crash (SIGKILL).
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int = DEFAULT_PORT,
        controller_port: int | None = None,
        log_path: Path | None = None,
        heap: str = "512m",
        node_id: int = 1,
        voters: str | None = None,
        replication: int = 1,
        cluster: str | None = None,
    ) -> None:
        """``voters``, ``replication`` and ``cluster`` (its id) make it one broker of a quorum."""
        self.data_dir = data_dir
        self.port = port
        self.controller_port = controller_port or free_port()
        self.heap = heap
        self.node_id = node_id
        self.voters = voters
        self.replication = replication
        self.cluster = cluster
        self.log_path = log_path or data_dir / "kafka.log"
        self.process: ManagedProcess | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _write_config(self) -> Path:
        controller = f"127.0.0.1:{self.controller_port}"
        copies, in_sync = str(self.replication), str(min(2, self.replication))
        settings = {
            "process.roles": "broker,controller",
            "node.id": str(self.node_id),
            "controller.quorum.voters": self.voters or f"{self.node_id}@{controller}",
            "listeners": f"PLAINTEXT://{self.bootstrap},CONTROLLER://{controller}",
            "advertised.listeners": f"PLAINTEXT://{self.bootstrap}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.data_dir / "kraft"),
            "num.partitions": "1",
            "auto.create.topics.enable": "false",
            "group.initial.rebalance.delay.ms": "0",
            "group.min.session.timeout.ms": "1000",
            "offsets.topic.replication.factor": copies,
            "offsets.topic.num.partitions": "1",
            "transaction.state.log.replication.factor": copies,
            "transaction.state.log.min.isr": in_sync,
            "share.coordinator.state.topic.replication.factor": copies,
            "share.coordinator.state.topic.min.isr": in_sync,
            "default.replication.factor": copies,
            "min.insync.replicas": in_sync,
        }
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.data_dir / "log4j2.properties").write_text(_LOG4J2)
        config = self.data_dir / "server.properties"
        config.write_text("".join(f"{key}={value}\n" for key, value in settings.items()))
        return config

    def _java(self, libs: Path, main: str, *args: str) -> list[str]:
        return [
            str(shutil.which("java")),
            f"-Xms{self.heap}",
            f"-Xmx{self.heap}",
            # the fixed heap's pages are touched at start, so RSS does not creep up to it later
            "-XX:+AlwaysPreTouch",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.data_dir / 'log4j2.properties'}",
            "-cp",
            f"{libs}/*",
            main,
            *args,
        ]

    def start(self, timeout: float = 120.0) -> None:
        libs = ensure_kafka()
        self.format(libs)
        self.launch(libs)
        wait_until(self.ready, timeout=timeout, interval=0.2, what=f"Kafka on {self.bootstrap}")

    def format(self, libs: Path) -> None:
        """Format the data dir, once."""
        config = self._write_config()
        if not (self.data_dir / "kraft" / "meta.properties").exists():
            subprocess.run(
                self._java(
                    libs,
                    "kafka.tools.StorageTool",
                    "format",
                    "-t",
                    self.cluster or cluster_id(),
                    "-c",
                    str(config),
                ),
                check=True,
                capture_output=True,
                timeout=120,
            )

    def launch(self, libs: Path) -> None:
        config = self.data_dir / "server.properties"
        self.process = ManagedProcess(
            "kafka", self._java(libs, "kafka.Kafka", str(config)), log_path=self.log_path
        )
        self.process.start()

    def ready(self) -> bool:
        assert self.process is not None
        if not self.process.alive():
            raise GiveUp(f"Kafka exited early:\n{self.process.tail()}")
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
        except OSError:
            return False
        from confluent_kafka.admin import AdminClient

        metadata = AdminClient({"bootstrap.servers": self.bootstrap}).list_topics(timeout=5)
        return bool(metadata.brokers)

    def alive(self) -> bool:
        return self.process is not None and self.process.alive()

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop(timeout=30)

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()

    def restart(self, *, crash: bool = False) -> None:
        self.kill() if crash else self.stop()
        self.start()

    def tail(self, lines: int = 60) -> str:
        return self.process.tail(lines) if self.process else ""

    def create_topics(self, names: Iterable[str], partitions: int = 1) -> None:
        """Create the topics that do not exist yet (idempotent)."""
        from confluent_kafka import KafkaError, KafkaException
        from confluent_kafka.admin import AdminClient, NewTopic

        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        wanted = sorted(set(names) - set(admin.list_topics(timeout=10).topics))
        if not wanted:
            return
        topics = [NewTopic(name, partitions, self.replication) for name in wanted]
        futures = admin.create_topics(topics, request_timeout=30)
        for name, future in futures.items():
            try:
                future.result(timeout=30)
            except KafkaException as error:
                if error.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise
            log.info("created topic %s", name)


class KafkaCluster:
    """``count`` brokers on loopback, each also a voter of the KRaft quorum (see the module doc)."""

    def __init__(
        self, data_dir: Path, *, ports: list[int], log_dir: Path | None = None, heap: str = "384m"
    ) -> None:
        controllers = [free_port() for _ in ports]
        voters = ",".join(f"{i + 1}@127.0.0.1:{port}" for i, port in enumerate(controllers))
        cluster = cluster_id()
        self.brokers = [
            KafkaBroker(
                data_dir / f"broker-{i + 1}",
                port=port,
                controller_port=controllers[i],
                log_path=(log_dir or data_dir) / f"kafka-{i + 1}.log",
                heap=heap,
                node_id=i + 1,
                voters=voters,
                replication=len(ports),
                cluster=cluster,
            )
            for i, port in enumerate(ports)
        ]

    @property
    def bootstrap(self) -> str:
        return ",".join(b.bootstrap for b in self.brokers)

    def start(self, timeout: float = 180.0) -> None:
        """Start every broker, then wait for each (a quorum needs a majority before any is ready)."""
        libs = ensure_kafka()
        for broker in self.brokers:
            broker.format(libs)
            broker.launch(libs)
        for broker in self.brokers:
            wait_until(broker.ready, timeout=timeout, interval=0.2, what=f"Kafka on {broker.bootstrap}")

    def stop(self) -> None:
        for broker in reversed(self.brokers):
            broker.stop()

    def kill(self) -> None:
        for broker in self.brokers:
            broker.kill()

    def alive(self) -> bool:
        return all(b.alive() for b in self.brokers)

    def tail(self, lines: int = 60) -> str:
        return "\n".join(b.tail(lines // len(self.brokers)) for b in self.brokers)

    def create_topics(self, names: Iterable[str], partitions: int = 1) -> None:
        self.brokers[0].create_topics(names, partitions)
