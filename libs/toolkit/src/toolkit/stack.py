"""``uv run patterns up``: the whole catalogue on this machine, without Docker.

Starts the pinned Restate server (installing it from npm when missing) with its data under
``.data/stack``, starts every installed pattern service through its ``serve`` command, registers
each deployment (``force``, so a rerun is idempotent), prints where everything is, streams the
services' logs, and stops it all on Ctrl-C. Request signing is on unless ``--no-signing``.

Nothing it starts outlives it: Ctrl-C (even through ``| tee``, whose end dies first), SIGTERM and
SIGHUP stop the children in order; output that can no longer be written is dropped rather than
allowed to end the stack first; and if the stack dies anyway (SIGKILL), the children's
parent-death signal and a watchdog (``toolkit.infra.process``) end them. A start whose ports are
taken (by a leftover server or service, say) names the process holding them and gives up,
instead of registering its services with that leftover.

Patterns fed by Kafka (those whose ``Pattern`` lists ``subscriptions``) get a local Apache Kafka
broker on the address ``restate.toml`` gives ``my-cluster``, their topics and their Restate
subscriptions, all idempotent. Without Java 17 and Maven the stack says so and starts without
those patterns.

With ``--tracing`` it first starts Jaeger (``toolkit.infra.jaeger``, built from its Go module on
first use), has every Restate node export each invocation's trace to it, and has every service
send its own spans there (``common.tracing``).

The same command also has ``install`` (the pinned servers into the cache), ``restate ...`` (the
pinned Restate CLI) and ``bench`` (``toolkit.bench``: throughput and latency, measured).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from common.cli import installed_patterns
from common.events import CLUSTER, Subscription
from common.ingress import Admin
from common.logs import configure_logging
from toolkit.bench import add_arguments as add_bench_arguments
from toolkit.bench import bench
from toolkit.chaos import add_arguments as add_chaos_arguments
from toolkit.chaos import chaos
from toolkit.infra import jaeger, kafka, serverconfig
from toolkit.infra.cluster import RestateCluster, node_ports, wait_known
from toolkit.infra.keys import ensure_keypair
from toolkit.infra.paths import project_root
from toolkit.infra.process import ManagedProcess, Watchdog, port_holders
from toolkit.infra.restate import RestatePorts, RestateServer, ensure_restate
from toolkit.launcher import ServerLink, ServiceProcess, load_pattern

_print_lock = threading.Lock()


def _say(text: str, *, stream: Any = None) -> None:
    """Print a whole message at once, never in the middle of a followed log line.

    Output that cannot be written (the ``tee`` of ``patterns up | tee`` died of the same Ctrl-C,
    the terminal was closed) goes to /dev/null from then on: a failed write must never end the
    stack before it has stopped its children."""
    out = stream or sys.stdout
    with _print_lock:
        try:
            out.write(text + "\n")
            out.flush()
        except (OSError, ValueError):
            with contextlib.suppress(OSError, ValueError):
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, out.fileno())
                os.close(devnull)
                out.flush()  # what was buffered goes the same way


def _follow(process: ManagedProcess, label: str, stop: threading.Event) -> None:
    """Copy this run's lines of a process's log to our stdout, prefixed with its name.

    Only whole lines are copied, each in one write under a lock, so the lines of several processes
    never run into each other."""
    position = process.log_offset
    while not stop.is_set():
        try:
            with process.log_path.open("rb") as handle:
                handle.seek(position)
                chunk = handle.read()
        except FileNotFoundError:
            chunk = b""
        whole = chunk[: chunk.rfind(b"\n") + 1]  # a line still being written waits for its end
        position += len(whole)
        if whole:
            _say("\n".join(f"{label:>17} | {line}" for line in whole.decode(errors="replace").splitlines()))
        stop.wait(0.2)


class Stack:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.root = project_root()
        self.data = Path(args.data_dir) if args.data_dir else self.root / ".data" / "stack"
        self.processes: list[tuple[str, ManagedProcess]] = []
        self.services: dict[str, ServiceProcess] = {}
        self.identity = ""
        self.server: RestateServer | None = None  # the first node of a cluster
        self.servers: list[RestateServer] = []
        self.nodes = int(getattr(args, "nodes", 1))
        self.config = self.root / "restate.toml"
        self.kafka: kafka.KafkaBroker | kafka.KafkaCluster | None = None
        self.subscriptions: list[Subscription] = []
        self.skipped: set[str] = set()
        self.jaeger: jaeger.Jaeger | None = None

    def chosen(self) -> list[str]:
        patterns = installed_patterns()
        chosen = self.args.only.split(",") if self.args.only else sorted(patterns)
        unknown = set(chosen) - set(patterns)
        if unknown:
            sys.exit(f"unknown pattern(s): {', '.join(sorted(unknown))}; installed: {', '.join(patterns)}")
        return [name for name in chosen if name not in self.skipped]

    def start_kafka(self) -> None:
        """Start the broker if a chosen pattern is fed by Kafka, and create its topics."""
        patterns = installed_patterns()
        needs = {name: patterns[name].load().subscriptions for name in self.chosen()}
        needs = {name: subs for name, subs in needs.items() if subs}
        if not needs:
            return
        reason = kafka.unavailable_reason()
        broker: kafka.KafkaBroker | kafka.KafkaCluster = kafka.KafkaBroker(
            self.data / "kafka",
            port=kafka.broker_port(self.config, CLUSTER),
            log_path=self.data / "logs" / "kafka.log",
        )
        if self.nodes > 1:  # one broker per node, every topic on all of them
            broker = kafka.KafkaCluster(
                self.data / "kafka-cluster",
                ports=self.broker_ports(),
                log_dir=self.data / "logs",
                heap="512m",
            )
        if reason is None:
            _say(f"starting Kafka {kafka.KAFKA_VERSION} on {broker.bootstrap} (installed on first use)")
            try:
                broker.start()
            except (OSError, RuntimeError, AssertionError, subprocess.SubprocessError) as error:
                broker.stop()
                reason = f"it did not start: {error}"
            except BaseException:  # interrupted: it is not in self.processes yet
                broker.stop()
                raise
        if reason is not None:
            self.skipped.update(needs)
            _say(f"\nKafka is unavailable ({reason}); not starting {', '.join(sorted(needs))}.")
            _say("Install Java 17 and Maven to run them; everything else runs without Kafka.\n")
            return
        self.kafka = broker
        brokers = broker.brokers if isinstance(broker, kafka.KafkaCluster) else [broker]
        for one in brokers:
            assert one.process is not None
            self.processes.append((f"kafka-{one.node_id}" if self.nodes > 1 else "kafka", one.process))
        self.subscriptions = [sub for subs in needs.values() for sub in subs]
        broker.create_topics(topic for sub in self.subscriptions for topic in sub.topics)

    def node_ports(self) -> list[RestatePorts]:
        first = RestatePorts(
            ingress=self.args.ingress_port, admin=self.args.admin_port, node=self.args.node_port
        )
        return node_ports(first, self.nodes)

    def broker_ports(self) -> list[int]:
        """The broker ``restate.toml`` names, and the next ports for a cluster's other brokers."""
        first = kafka.broker_port(self.config, CLUSTER)
        return [first + i for i in range(self.nodes)]

    def check_ports(self) -> None:
        """Refuse to start on a taken port: a leftover server or service there would answer our
        health checks and receive our registrations. Says who holds each port."""
        patterns = installed_patterns()
        wanted: dict[str, int] = {}
        for i, ports in enumerate(self.node_ports()):
            node = f"node {i + 1} " if self.nodes > 1 else ""
            wanted |= {
                f"{node}ingress": ports.ingress,
                f"{node}admin": ports.admin,
                f"{node}node": ports.node,
            }
        for name in self.chosen():
            pattern = patterns[name].load()
            wanted[name] = pattern.port
            if pattern.subscriptions:
                brokers = self.broker_ports()
                wanted |= {
                    "kafka" if len(brokers) == 1 else f"kafka broker {i + 1}": p
                    for i, p in enumerate(brokers)
                }
        if getattr(self.args, "tracing", False):
            wanted |= {
                "jaeger UI": self.args.jaeger_port,
                "OTLP gRPC": self.args.otlp_port,
                "OTLP HTTP": self.args.otlp_port + 1,
            }
        holders = port_holders(set(wanted.values()))
        problems = [
            f"  {what} port {port} is taken by {holders[port]}"
            for what, port in wanted.items()
            if port in holders
        ]
        first: dict[int, str] = {}
        for what, port in wanted.items():
            if first.setdefault(port, what) != what:
                problems.append(f"  {first[port]} and {what} both want port {port}")
        if problems:
            sys.exit("cannot start the stack:\n" + "\n".join(problems) + "\nstop them or choose other ports")

    def subscribe(self) -> None:
        assert self.server is not None
        admin = Admin(self.server.admin_url)
        for sub in self.subscriptions:
            admin.subscribe(sub.source, sub.sink, {"auto.offset.reset": "earliest"})
        admin.close()

    def start_jaeger(self) -> None:
        """With ``--tracing``: Jaeger, for the server to export every invocation's trace to."""
        if not getattr(self.args, "tracing", False):
            return
        reason = jaeger.unavailable_reason()
        if reason is not None:
            sys.exit(f"cannot trace: {reason}")
        _say(f"starting Jaeger {jaeger.JAEGER_VERSION} (built from its Go module on first use)")
        self.jaeger = jaeger.Jaeger(
            self.data / "jaeger",
            ports=jaeger.JaegerPorts(
                otlp_grpc=self.args.otlp_port, otlp_http=self.args.otlp_port + 1, ui=self.args.jaeger_port
            ),
            log_path=self.data / "logs" / "jaeger.log",
        )
        self.processes.append(("jaeger", self.jaeger.process))  # stopped even if interrupted
        self.jaeger.start(timeout=900)  # the first start builds it

    def tracing_env(self) -> dict[str, str]:
        return {"RESTATE_TRACING_ENDPOINT": self.jaeger.otlp_endpoint} if self.jaeger else {}

    def start_restate(self) -> None:
        ensure_restate()
        signing_key = None
        if not self.args.no_signing:
            signing_key, self.identity = ensure_keypair(self.data / "keys")
        config = self.config if self.config.exists() else None
        if self.nodes == 1:
            self.server = RestateServer(
                self.data / "restate",
                ports=self.node_ports()[0],
                config_file=config,
                signing_key=signing_key,
                env=self.tracing_env(),
                log_path=self.data / "logs" / "restate-server.log",
            )
            self.servers = [self.server]
            self.processes.append(("restate-server", self.server.process))  # stopped even if interrupted
            self.server.start()
            return
        brokers = ",".join(f"127.0.0.1:{port}" for port in self.broker_ports())
        cluster = RestateCluster(
            self.data / "restate-cluster",
            self.node_ports(),
            config_file=config,
            signing_key=signing_key,
            env={
                "RESTATE_INGRESS__KAFKA_CLUSTERS": serverconfig.kafka_clusters(brokers),
                **self.tracing_env(),
            },
            log_dir=self.data / "logs",
        )
        self.servers = cluster.nodes
        self.server = self.servers[0]
        self.processes += [(f"restate-{node.node_name}", node.process) for node in self.servers]
        _say(f"starting a Restate cluster of {self.nodes} nodes (replication 2)")
        cluster.start()

    def start_services(self) -> None:
        assert self.server is not None
        link = ServerLink(
            self.server.ingress_url,
            self.server.admin_url,
            self.identity,
            ",".join(f"127.0.0.1:{port}" for port in self.broker_ports()),
        )
        for name in self.chosen():
            service = ServiceProcess(
                name,
                port=load_pattern(name).port,
                link=link,
                workdir=self.data,
                log_path=self.data / "logs" / f"{name}.log",
                fakes_db=self.data / "fakes" / f"{name}.sqlite",
                env=self.jaeger.service_env() if self.jaeger else None,
            )
            service.start()
            self.processes.append((name, service.process))
            self.services[name] = service

    def register(self) -> dict[str, list[str]]:
        assert self.server is not None
        admin = Admin(self.server.admin_url)
        registered = {}
        for name, service in self.services.items():
            service.wait_healthy()
            registered[name] = service.register(admin)
        admin.close()
        if self.nodes > 1:  # every node's ingress knows every service before we say we are up
            wait_known(
                [node.admin_url for node in self.servers], {s for svcs in registered.values() for s in svcs}
            )
        return registered

    def stop(self) -> None:
        """Stop every process started, the last first; one that will not stop keeps no other up."""
        for name, process in reversed(self.processes):
            if process.alive():
                _say(f"stopping {name}")
            try:
                process.stop()  # also what is left of its group when the leader is gone
            except subprocess.SubprocessError as error:
                _say(f"{name} did not stop: {error}", stream=sys.stderr)


def _launched_by_uv() -> int | None:
    """The pid of the ``uv run`` that started us, if one did: the stack stops when it goes."""
    with contextlib.suppress(psutil.Error):
        launcher = psutil.Process().parent()
        if launcher is not None and launcher.name() == "uv":
            return launcher.pid
    return None


def _banner(stack: Stack, registered: dict[str, list[str]]) -> str:
    """Where everything is, printed once the stack is up (in one write, like every message)."""
    assert stack.server is not None
    lines = [
        "\nRestate patterns are up.",
        *(
            [f"  ingress   {stack.server.ingress_url}", f"  admin/UI  {stack.server.admin_url}"]
            if len(stack.servers) == 1
            else [
                f"  node {n.node_name}   ingress {n.ingress_url}  admin/UI {n.admin_url}"
                for n in stack.servers
            ]
        ),
        f"  signing   {'on: ' + stack.identity if stack.identity else 'off'}",
        *(
            f"  {name:<17} :{stack.services[name].port}  {', '.join(svcs)}"
            for name, svcs in registered.items()
        ),
    ]
    if stack.kafka is not None:
        lines.append(f"  kafka     {stack.kafka.bootstrap} (cluster {CLUSTER})")
    if stack.jaeger is not None:
        lines.append(f"  traces    {stack.jaeger.ui_url} (Jaeger; OTLP {stack.jaeger.otlp_endpoint})")
    lines += [f"  subscribed {sub.source} -> {sub.sink}" for sub in stack.subscriptions]
    if stack.skipped:
        lines.append(f"  not started (no Kafka): {', '.join(sorted(stack.skipped))}")
    return "\n".join([*lines, f"  data and logs under {stack.data}\nCtrl-C stops everything.\n"])


class StopRequest:
    """The signals that ask the stack to stop: SIGINT (Ctrl-C reaches us twice, from the terminal
    and forwarded by ``uv run``), SIGTERM, and SIGHUP (a closed terminal). The first one also
    abandons a start-up still under way.

    The handler only appends to a list. Python runs it in the main thread between any two
    bytecodes, even inside a lock that the main thread holds, and even inside the handler of the
    previous signal: a handler that set a ``threading.Event`` could wait for the Event's own lock
    forever."""

    def __init__(self) -> None:
        self.signals: list[int] = []
        self.starting = True

    def install(self) -> None:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, self._on_signal)

    def _on_signal(self, signum: int, _frame: object) -> None:
        self.signals.append(signum)
        if len(self.signals) == 1 and self.starting:
            raise KeyboardInterrupt

    def __bool__(self) -> bool:
        return bool(self.signals)


def up(args: argparse.Namespace) -> int:
    stack = Stack(args)
    stack.check_ports()
    requested = StopRequest()
    stop = threading.Event()  # ends the log followers; set by the main thread, never by a handler
    launcher = _launched_by_uv()
    requested.install()
    watchdog = Watchdog.install()
    try:
        stack.start_jaeger()
        stack.start_kafka()
        stack.start_restate()
        stack.start_services()
        registered = stack.register()
        stack.subscribe()
        requested.starting = False
        _say(_banner(stack, registered))
        followers = [
            threading.Thread(target=_follow, args=(p, n, stop), daemon=True)
            for n, p in stack.processes
            if not args.quiet and not n.startswith(("restate-", "kafka"))
        ]
        for follower in followers:
            follower.start()
        while not requested:
            if launcher is not None and os.getppid() != launcher:
                _say(f"the uv run that started the stack (pid {launcher}) is gone", stream=sys.stderr)
                break
            for name, process in stack.processes:
                if not process.alive():
                    _say(f"{name} exited unexpectedly; last lines:\n{process.tail(20)}", stream=sys.stderr)
                    return 1
            time.sleep(0.2)
        return 0
    except KeyboardInterrupt:
        _say("interrupted while starting", stream=sys.stderr)
        return 130
    finally:
        stop.set()
        stack.stop()
        watchdog.close()


def restate_cli(args: list[str]) -> int:
    """``patterns restate kv get PackageTracker p1``: the pinned Restate CLI, aimed at the stack
    unless ``RESTATE_ADMIN_URL`` / ``RESTATE_INGRESS_URL`` say otherwise."""
    env = {
        "RESTATE_ADMIN_URL": "http://127.0.0.1:9070",
        "RESTATE_INGRESS_URL": "http://127.0.0.1:8080",
        **os.environ,
    }
    return subprocess.call([str(ensure_restate().cli), *args], env=env)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["restate"]:  # everything after it belongs to the CLI, flags included
        return restate_cli(argv[1:])
    parser = argparse.ArgumentParser(prog="patterns", description="Run the pattern catalogue locally.")
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser("up", help="start Restate and every service, register them, wait for Ctrl-C")
    start.add_argument("--only", help="comma-separated patterns to start (default: all installed)")
    start.add_argument("--no-signing", action="store_true", help="do not sign requests to the services")
    start.add_argument("--quiet", action="store_true", help="do not stream the services' logs")
    start.add_argument("--ingress-port", type=int, default=8080)
    start.add_argument("--admin-port", type=int, default=9070)
    start.add_argument("--node-port", type=int, default=5122, help="Restate's node-to-node port")
    start.add_argument(
        "--nodes", type=int, default=1, help="Restate nodes and Kafka brokers: 3 runs a cluster (default 1)"
    )
    start.add_argument(
        "--tracing", action="store_true", help="start Jaeger and export every invocation's trace to it"
    )
    start.add_argument(
        "--jaeger-port", type=int, default=16686, help="Jaeger's UI and query API (with --tracing)"
    )
    start.add_argument(
        "--otlp-port", type=int, default=4317, help="Jaeger's OTLP gRPC port; OTLP HTTP is the next one"
    )
    start.add_argument("--data-dir", help="data and logs of the stack (default: .data/stack in the project)")
    sub.add_parser("install", help="install the pinned Restate server (and Kafka) into the cache")
    add_bench_arguments(sub.add_parser("bench", help="measure throughput and latency of some patterns"))
    add_chaos_arguments(sub.add_parser("chaos", help="every pattern under load while components are killed"))
    sub.add_parser("restate", help="the pinned Restate CLI, e.g. `patterns restate kv get PackageTracker p1`")
    args: Any = parser.parse_args(argv)
    configure_logging("INFO", "console")
    if args.command == "install":
        print(ensure_restate())
        reason = kafka.unavailable_reason()
        print(f"Kafka not installed: {reason}" if reason else kafka.ensure_kafka())
        return 0
    if args.command == "bench":
        return bench(args)
    if args.command == "chaos":
        return chaos(args)
    started = time.monotonic()
    code = up(args)
    _say(f"stopped after {time.monotonic() - started:.0f}s")
    return code


if __name__ == "__main__":
    sys.exit(main())
