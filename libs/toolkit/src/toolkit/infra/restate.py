"""The real Restate server: installed from npm at a pinned version, run as a child process."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from toolkit.infra.paths import cache_dir, file_lock, free_port
from toolkit.infra.process import ManagedProcess
from toolkit.waiting import GiveUp, wait_until

RESTATE_VERSION = "1.7.12"
# What RocksDB may use for memtables and block cache, which grow as data is written until they
# reach it (the server's default is larger; a soak sets a smaller one, see toolkit.chaos.runner).
ROCKSDB_MEMORY_MIB = 256

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RestateBinaries:
    server: Path
    cli: Path


def ensure_restate(version: str = RESTATE_VERSION) -> RestateBinaries:
    """The pinned server and CLI, installed with npm into the cache on first use."""
    root = cache_dir() / "restate" / version
    modules = root / "node_modules" / "@restatedev"
    binaries = RestateBinaries(
        server=modules / "restate-server-linux-x64" / "bin" / "restate-server",
        cli=modules / "restate-linux-x64" / "bin" / "restate",
    )
    with file_lock(root.parent / f".{version}.lock"):
        if binaries.server.exists() and binaries.cli.exists():
            return binaries
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm is needed to install the Restate server (install Node.js 20+)")
        log.info("installing restate-server %s with npm into %s", version, root)
        root.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                npm,
                "install",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                "--prefix",
                str(root),
                f"@restatedev/restate-server@{version}",
                f"@restatedev/restate@{version}",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    if not binaries.server.exists():
        raise RuntimeError(f"npm installed restate {version} but {binaries.server} is missing")
    return binaries


@dataclass
class RestatePorts:
    ingress: int = field(default_factory=free_port)
    admin: int = field(default_factory=free_port)
    node: int = field(default_factory=free_port)


class RestateServer:
    """One ``restate-server`` on loopback with its data in ``base_dir``.

    ``restart()`` keeps the base dir and the ports; ``kill()`` is a crash (SIGKILL).
    """

    def __init__(
        self,
        base_dir: Path,
        *,
        ports: RestatePorts | None = None,
        config_file: Path | None = None,
        signing_key: Path | None = None,
        env: dict[str, str] | None = None,
        log_path: Path | None = None,
        host: str = "127.0.0.1",
        node_name: str = "patterns",
    ) -> None:
        self.base_dir = base_dir
        self.node_name = node_name
        self.ports = ports or RestatePorts()
        self.host = host
        binaries = ensure_restate()
        argv = [str(binaries.server), "--base-dir", str(base_dir), "--node-name", node_name, "--no-logo"]
        if config_file is not None:
            argv += ["--config-file", str(config_file)]
        server_env = {
            **os.environ,
            "RESTATE_INGRESS__BIND_ADDRESS": f"{host}:{self.ports.ingress}",
            "RESTATE_ADMIN__BIND_ADDRESS": f"{host}:{self.ports.admin}",
            "RESTATE_BIND_ADDRESS": f"{host}:{self.ports.node}",
            "RESTATE_ADVERTISED_ADDRESS": f"http://{host}:{self.ports.node}/",
            "RESTATE_LISTEN_MODE": "tcp",
            "RESTATE_DEFAULT_NUM_PARTITIONS": "2",
            "RESTATE_ROCKSDB_TOTAL_MEMORY_SIZE": f"{ROCKSDB_MEMORY_MIB} MiB",
            "RESTATE_LOG_FORMAT": "compact",
            **(env or {}),
        }
        if signing_key is not None:
            server_env["RESTATE_WORKER__INVOKER__REQUEST_IDENTITY_PRIVATE_KEY_PEM_FILE"] = str(signing_key)
        self.process = ManagedProcess(
            "restate-server",
            argv,
            log_path=log_path or base_dir.parent / "restate-server.log",
            env=server_env,
        )

    @property
    def ingress_url(self) -> str:
        return f"http://{self.host}:{self.ports.ingress}"

    @property
    def admin_url(self) -> str:
        return f"http://{self.host}:{self.ports.admin}"

    @property
    def metrics_url(self) -> str:
        """Prometheus metrics, on the node port."""
        return f"http://{self.host}:{self.ports.node}/metrics"

    def metrics(self) -> dict[str, float]:
        """The server's Prometheus metrics, by name and labels as printed; {} if not answering."""
        try:
            text = httpx.get(self.metrics_url, timeout=5).text
        except httpx.HTTPError:
            return {}
        found = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                try:
                    found[name] = float(value)
                except ValueError:
                    continue
        return found

    def memory_mib(self) -> dict[str, float] | None:
        """Where the server's memory goes, in MiB: ``heap``, what its allocator holds for live
        objects (jemalloc's ``allocated``; RSS also counts freed pages the allocator keeps), and
        ``rocksdb`` and ``rocksdb_capacity``, what RocksDB's block cache holds and may hold (the
        memtables are charged to it, so it is all of RocksDB's bounded memory). None if the
        server does not answer."""
        found: dict[str, float] = {}
        for name, value in self.metrics().items():
            if name.startswith("restate_jemalloc_allocated_bytes"):
                found["heap"] = value / 2**20
            elif name.startswith("restate_rocksdb_block_cache_usage_bytes") and 'db="db"' in name:
                found["rocksdb"] = value / 2**20  # one cache, shared by every database
            elif name.startswith("restate_rocksdb_block_cache_capacity_bytes") and 'db="db"' in name:
                found["rocksdb_capacity"] = value / 2**20
        return found if len(found) == 3 else None

    def healthy(self) -> bool:
        try:
            admin = httpx.get(f"{self.admin_url}/health", timeout=1)
            ingress = httpx.get(f"{self.ingress_url}/restate/health", timeout=1)
        except httpx.HTTPError:
            return False
        return admin.status_code == 200 and ingress.status_code == 200

    def start(self, timeout: float = 60.0) -> None:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.process.start()

        def ready() -> bool:
            if not self.process.alive():
                raise GiveUp(f"restate-server exited early:\n{self.process.tail()}")
            return self.healthy()

        wait_until(ready, timeout=timeout, interval=0.1, what="restate-server health")

    def stop(self) -> None:
        self.process.stop(timeout=15)

    def kill(self) -> None:
        self.process.kill()

    def restart(self, *, crash: bool = False) -> None:
        """Stop (or SIGKILL with ``crash``) and start again on the same data and ports."""
        if crash:
            self.kill()
        else:
            self.stop()
        self.start()

    def tail(self, lines: int = 60) -> str:
        return self.process.tail(lines)
