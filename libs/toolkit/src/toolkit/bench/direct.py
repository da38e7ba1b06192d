"""The floor without Restate: the benchmark floor's trivial handler, served directly by Hypercorn.

The floor service answers ``true`` to any body through Restate; this process gives the same answer
with the very same Hypercorn settings (``common.serving.hypercorn_config``: h2c, unlimited streams
and keep-alive), so the gap between the two floors is what Restate itself costs.

    POST /BenchFloor/Noop  -> 200 true            (any body)
    GET  /health           -> 200 {"status":"ok"}
    other method on Noop   -> 405                 (a load generator that sends GET is caught)
    anything else          -> 404

    python -m toolkit.bench.direct --port 9099
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path
from typing import Any

import httpx
from hypercorn.asyncio import serve

from common.serving import hypercorn_config
from common.settings import ServiceSettings
from toolkit.infra.process import ManagedProcess
from toolkit.waiting import GiveUp, wait_until

NOOP_PATH = "/BenchFloor/Noop"
JSON = [(b"content-type", b"application/json")]


async def _drain(receive: Any) -> None:
    """Read the whole request body, as a real handler would."""
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The ASGI app: the floor's handler, ``/health``, and 405/404 for everything else."""
    if scope["type"] == "lifespan":  # nothing to set up; say so instead of failing
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    await _drain(receive)
    path, method = scope["path"], scope["method"]
    if path == NOOP_PATH and method == "POST":
        status, headers, body = 200, JSON, b"true"
    elif path == NOOP_PATH:
        status, headers, body = 405, [(b"allow", b"POST")], b""
    elif path.rstrip("/") == "/health" and method == "GET":
        status, headers, body = 200, JSON, b'{"status":"ok"}'
    else:
        status, headers, body = 404, [], b""
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _serve(host: str, port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    config = hypercorn_config(ServiceSettings.model_construct(host=host, port=port))
    await serve(app, config, shutdown_trigger=stop.wait)  # type: ignore[arg-type]


class DirectServer:
    """``python -m toolkit.bench.direct`` as a child process, started and stopped by the benchmark."""

    def __init__(self, port: int, log_path: Path) -> None:
        self.url = f"http://127.0.0.1:{port}"
        argv = [sys.executable, "-m", __name__, "--port", str(port)]
        self.process = ManagedProcess("direct", argv, log_path=log_path)

    @property
    def pid(self) -> int | None:
        """The process that serves the requests (no ``uv run`` in between): its CPU is the server's."""
        return self.process.pid

    def _health(self) -> bool:
        if not self.process.alive():
            raise GiveUp(f"the direct server exited early:\n{self.process.tail()}")
        try:
            return httpx.get(f"{self.url}/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def start(self, timeout: float = 30) -> None:
        """Start the server and wait until ``/health`` answers."""
        self.process.start()
        wait_until(self._health, timeout=timeout, interval=0.05, what=f"{self.url}/health")

    def stop(self) -> None:
        self.process.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(_serve(args.host, args.port))


if __name__ == "__main__":
    main()
