"""``python -m toolkit.register``: the compose file's one-shot registration job.

Registers every deployment in ``DEPLOYMENTS`` (comma-separated URIs) with ``force``, then creates
every subscription in ``SUBSCRIPTIONS`` (``source=sink`` pairs, comma-separated), retrying until
Restate and each service answer: containers start in any order, and some compose implementations
ignore ``condition: service_healthy``.
"""

from __future__ import annotations

import logging
import os
import sys

import httpx

from common.ingress import Admin, RestateHttpError
from common.logs import configure_logging
from toolkit.waiting import wait_until

log = logging.getLogger("register")


def parse_subscriptions(text: str) -> list[tuple[str, str]]:
    pairs = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        source, _, sink = item.partition("=")
        if not sink:
            raise ValueError(f"subscription {item!r} is not source=sink")
        pairs.append((source, sink))
    return pairs


def main() -> int:
    configure_logging("INFO", "console")
    admin = Admin(os.environ.get("RESTATE_ADMIN_URL", "http://restate:9070"))
    deployments = [uri.strip() for uri in os.environ.get("DEPLOYMENTS", "").split(",") if uri.strip()]
    subscriptions = parse_subscriptions(os.environ.get("SUBSCRIPTIONS", ""))
    timeout = float(os.environ.get("REGISTER_TIMEOUT", "300"))
    for uri in deployments:

        def register(uri: str = uri) -> list[str] | None:
            try:
                return admin.register(uri, force=True)
            except (httpx.HTTPError, RestateHttpError) as error:
                log.info("waiting for %s: %s", uri, error)
                return None

        services = wait_until(register, timeout=timeout, interval=2, what=f"registering {uri}")
        log.info("registered %s: %s", uri, ", ".join(services))
    for source, sink in subscriptions:
        admin.subscribe(source, sink, {"auto.offset.reset": "earliest"})
        log.info("subscribed %s -> %s", source, sink)
    return 0


if __name__ == "__main__":
    sys.exit(main())
