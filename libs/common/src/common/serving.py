"""Serve a pattern's Restate services with Hypercorn, the way Restate wants them served.

- HTTP/2 cleartext (h2c) with effectively unlimited streams and keep-alive, so one connection
  from the server carries every invocation; its streams take turns in constant time
  (``h2streams``), so thousands in flight cost no more per frame than one.
- ``/health`` answers without a signature and names the pattern and its services.
- Request identity keys, when configured, make every other path require the server's signature.
- SIGTERM and SIGINT stop the server gracefully. The SDK installs its own SIGTERM handler on the
  first request, so ours is chained into the SDK's hook rather than registered beside it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
from collections.abc import Sequence
from typing import Any

import h2.connection
import restate
from hypercorn.asyncio import serve as hypercorn_serve
from hypercorn.config import Config
from restate.server import install_shutdown_hook

from common import h2streams
from common.logs import configure_logging
from common.settings import ServiceSettings
from common.tracing import configure_tracing, shutdown_tracing

RestateService = restate.Service | restate.VirtualObject | restate.Workflow

log = logging.getLogger(__name__)

UNLIMITED = 2**31 - 1
# The server sends an object's key twice in the headers of every attempt (``x-restate-service-key``
# and, base64-encoded, in the signed JWT), so h2's default 64 KiB list stops keys near 27 KiB and
# the server retries such a call forever. The SETTINGS frame that raises the limit takes effect
# only once the server acknowledges it, after its first request, so the default itself is raised.
MAX_HEADER_LIST_BYTES = 4 * 1024 * 1024
h2.connection.H2Connection.DEFAULT_MAX_HEADER_LIST_SIZE = MAX_HEADER_LIST_BYTES


def build_asgi(name: str, services: Sequence[RestateService], settings: ServiceSettings) -> Any:
    """The ASGI app: the SDK's app behind a ``/health`` that names what is served."""
    inner = restate.app(list(services), identity_keys=settings.request_identity_keys() or None)
    health = json.dumps({"status": "ok", "pattern": name, "services": [s.name for s in services]}).encode()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":  # nothing to set up; say so instead of failing
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] == "http" and scope["path"].rstrip("/") == "/health":
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": health})
            return
        await inner(scope, receive, send)

    return app


def hypercorn_config(settings: ServiceSettings) -> Config:
    h2streams.install()  # every stream in flight costs a turn nothing (see h2streams)
    config = Config()
    config.bind = [f"{settings.host}:{settings.port}"]
    config.h2_max_concurrent_streams = UNLIMITED
    config.h2_max_header_list_size = MAX_HEADER_LIST_BYTES
    config.keep_alive_max_requests = UNLIMITED
    config.keep_alive_timeout = 3600
    config.graceful_timeout = 5
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error")
    return config


async def serve_app(app: Any, settings: ServiceSettings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    install_shutdown_hook(loop, stop.set, signal.SIGTERM)
    install_shutdown_hook(loop, stop.set, signal.SIGINT)
    await hypercorn_serve(app, hypercorn_config(settings), shutdown_trigger=stop.wait)


def run(name: str, services: Sequence[RestateService], settings: ServiceSettings) -> None:
    """Serve ``services`` as the pattern ``name`` until SIGTERM or SIGINT."""
    configure_logging(settings.log_level, settings.log_format)
    configure_tracing(name)
    app = build_asgi(name, services, settings)
    log.info(
        "serving %s on http://%s:%d (request signing %s)",
        name,
        settings.host,
        settings.port,
        "required" if settings.request_identity_keys() else "off",
    )
    try:
        asyncio.run(serve_app(app, settings))
    finally:
        shutdown_tracing()
    log.info("%s stopped", name)
