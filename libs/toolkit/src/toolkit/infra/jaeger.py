"""Jaeger, to look at the traces that the Restate server exports: built from its Go module, run as
a child process with its traces in memory.

The Go module proxy serves ``github.com/jaegertracing/jaeger``; ``ensure_jaeger`` builds its
``cmd/jaeger`` (the all-in-one: OTLP receivers, in-memory storage, the query API and the UI) once
into the project's cache, under a key of the build recipe below. ``$JAEGER_BIN`` names another
binary to run instead (a release build, say).

A binary built from the module has no UI assets inside: Jaeger's releases embed the UI at build
time from a separate repository, so this one serves the query API (``/api/traces``, what the tests
and ``Jaeger.traces`` use) and a placeholder page. ``$JAEGER_UI_ASSETS`` points the UI at a
directory of a built ``jaeger-ui``; a release binary (``$JAEGER_BIN``) or the ``jaegertracing/jaeger``
image of the compose file has the UI built in.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from toolkit.infra.paths import cache_dir, file_lock, free_port
from toolkit.infra.process import ManagedProcess
from toolkit.waiting import GiveUp, wait_until

JAEGER_VERSION = "1.75.0"
MODULE = "github.com/jaegertracing/jaeger"
# The build, as data: the cache key hashes it, so a changed recipe builds a new binary.
PACKAGE = f"{MODULE}/cmd/jaeger"
BUILD_ENV = {"CGO_ENABLED": "0", "GOFLAGS": "-mod=mod"}
BUILD_FLAGS = ["-trimpath", "-ldflags=-s -w"]
MAX_TRACES = 20_000  # kept in memory; the oldest go first

log = logging.getLogger(__name__)


def build_key() -> str:
    recipe = [JAEGER_VERSION, PACKAGE, BUILD_ENV, BUILD_FLAGS]
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:16]


def unavailable_reason() -> str | None:
    """Why Jaeger cannot run here, or None when it can (a binary given, or Go to build one)."""
    given = os.environ.get("JAEGER_BIN")
    if given:
        return None if Path(given).is_file() else f"JAEGER_BIN={given} is not a file"
    if shutil.which("go") is None:
        return "Go (go) not found on PATH, needed to build Jaeger from its module (or set JAEGER_BIN)"
    return None


def ensure_jaeger() -> Path:
    """``$JAEGER_BIN``, or the pinned Jaeger built from the Go module proxy into the cache."""
    given = os.environ.get("JAEGER_BIN")
    if given:
        return Path(given)
    root = cache_dir() / "jaeger" / f"{JAEGER_VERSION}-{build_key()}"
    binary = root / "jaeger"
    with file_lock(root.parent / f".{JAEGER_VERSION}.lock"):
        if binary.exists():
            return binary
        reason = unavailable_reason()
        if reason is not None:
            raise RuntimeError(f"cannot build Jaeger {JAEGER_VERSION}: {reason}")
        log.info("building Jaeger %s from its Go module into %s (a few minutes, once)", JAEGER_VERSION, root)
        root.mkdir(parents=True, exist_ok=True)
        go = str(shutil.which("go"))
        env = {**os.environ, **BUILD_ENV}
        with tempfile.TemporaryDirectory(prefix="jaeger-build-") as work:
            steps = [
                [go, "mod", "init", "jaeger-build"],
                [go, "get", "-tool", f"{PACKAGE}@v{JAEGER_VERSION}"],
                [go, "build", *BUILD_FLAGS, "-o", f"{binary}.part", PACKAGE],
            ]
            for step in steps:
                done = subprocess.run(step, cwd=work, env=env, capture_output=True, text=True)
                if done.returncode != 0:
                    raise RuntimeError(f"{' '.join(step[1:3])} failed:\n{done.stderr[-3000:]}")
        Path(f"{binary}.part").rename(binary)
    return binary


@dataclass
class JaegerPorts:
    otlp_grpc: int = field(default_factory=free_port)
    otlp_http: int = field(default_factory=free_port)
    ui: int = field(default_factory=free_port)
    query_grpc: int = field(default_factory=free_port)
    health: int = field(default_factory=free_port)


def config(ports: JaegerPorts, host: str = "127.0.0.1", ui_assets: str | None = None) -> dict[str, Any]:
    """The all-in-one's configuration: OTLP in, traces in memory, the query API and UI out, and
    nothing else listening (no metrics or sampling ports to collide with another stack)."""
    ui: dict[str, Any] = {"assets_path": ui_assets} if ui_assets else {}
    return {
        "service": {
            "extensions": ["jaeger_storage", "jaeger_query", "healthcheckv2"],
            "pipelines": {
                "traces": {
                    "receivers": ["otlp"],
                    "processors": ["batch"],
                    "exporters": ["jaeger_storage_exporter"],
                }
            },
            "telemetry": {
                "metrics": {"level": "none"},
                "traces": {"level": "none"},
                "logs": {"level": "warn"},
            },
        },
        "extensions": {
            "jaeger_storage": {"backends": {"memory": {"memory": {"max_traces": MAX_TRACES}}}},
            "jaeger_query": {
                "storage": {"traces": "memory"},
                "enable_tracing": False,  # its own traces would go to localhost:4317, retried forever
                "http": {"endpoint": f"{host}:{ports.ui}"},
                "grpc": {"endpoint": f"{host}:{ports.query_grpc}"},
                **({"ui": ui} if ui else {}),
            },
            "healthcheckv2": {"use_v2": True, "http": {"endpoint": f"{host}:{ports.health}"}},
        },
        "receivers": {
            "otlp": {
                "protocols": {
                    "grpc": {"endpoint": f"{host}:{ports.otlp_grpc}"},
                    "http": {"endpoint": f"{host}:{ports.otlp_http}"},
                }
            }
        },
        "processors": {"batch": {"timeout": "200ms"}},
        "exporters": {"jaeger_storage_exporter": {"trace_storage": "memory"}},
    }


class Jaeger:
    """The all-in-one on loopback. ``otlp_endpoint`` is what the Restate server exports to
    (``RESTATE_TRACING_ENDPOINT``), ``ui_url`` where people look, ``traces`` what tests read."""

    def __init__(
        self, data_dir: Path, *, ports: JaegerPorts | None = None, log_path: Path | None = None
    ) -> None:
        self.ports = ports or JaegerPorts()
        data_dir.mkdir(parents=True, exist_ok=True)
        # YAML is a superset of JSON: the config needs no YAML library
        config_path = data_dir / "jaeger.yaml"
        config_path.write_text(
            json.dumps(config(self.ports, ui_assets=os.environ.get("JAEGER_UI_ASSETS")), indent=1)
        )
        self.process = ManagedProcess(
            "jaeger",
            [str(ensure_jaeger()), "--config", str(config_path)],
            log_path=log_path or data_dir / "jaeger.log",
        )

    @property
    def otlp_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports.otlp_grpc}"

    def service_env(self) -> dict[str, str]:
        """What a pattern service needs to export its own spans here (``common.tracing``)."""
        return {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"http://127.0.0.1:{self.ports.otlp_http}/v1/traces"}

    @property
    def ui_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.ui}"

    def start(self, timeout: float = 60) -> Jaeger:
        self.process.start()

        def ready() -> bool:
            if not self.process.alive():
                raise GiveUp(f"jaeger exited:\n{self.process.tail()}")
            return httpx.get(f"{self.ui_url}/api/services", timeout=2).status_code == 200

        wait_until(ready, timeout=timeout, interval=0.2, what="jaeger to answer")
        return self

    def stop(self) -> None:
        self.process.stop()

    def services(self) -> list[str]:
        answer = httpx.get(f"{self.ui_url}/api/services", timeout=10)
        answer.raise_for_status()
        return list(answer.json().get("data") or [])

    def traces(
        self, service: str, *, operation: str | None = None, tags: dict[str, str] | None = None
    ) -> list[dict[str, Any]]:
        """Traces that have a span of ``service`` (Jaeger's query API, newest first), each with its
        ``spans`` and ``processes``."""
        params: dict[str, str | int] = {"service": service, "limit": 200, "lookback": "1h"}
        if operation:
            params["operation"] = operation
        if tags:
            params["tags"] = json.dumps(tags)
        answer = httpx.get(f"{self.ui_url}/api/traces", params=params, timeout=10)
        answer.raise_for_status()
        return list(answer.json().get("data") or [])
