"""``python -m toolkit.register``: the compose file's one-shot registration job.

Registers every deployment in ``DEPLOYMENTS`` (comma-separated URIs) with ``force``, then creates
every subscription in ``SUBSCRIPTIONS`` (``source=sink`` pairs, comma-separated), retrying until
Restate and each service answer: containers start in any order, and some compose implementations
ignore ``condition: service_healthy``. On a cluster, ``KNOWN_BY`` lists the other nodes' admin
URLs: the job ends only once each of them knows every registered service and answers a query
over every partition, so that every node's ingress and admin API take calls when it is done (a
node learns what another registered a little later, and reaches the other nodes a little after
it started).
"""

from __future__ import annotations

import logging
import os
import sys
from functools import partial

import httpx

from common.ingress import Admin, RestateHttpError
from common.logs import configure_logging
from toolkit.waiting import wait_until

log = logging.getLogger("register")
EVERY_PARTITION = "SELECT count(*) AS n FROM sys_invocation"  # a scan of every partition


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
    known_by = [url.strip() for url in os.environ.get("KNOWN_BY", "").split(",") if url.strip()]
    registered: set[str] = set()
    for uri in deployments:

        def register(uri: str = uri) -> list[str] | None:
            try:
                return admin.register(uri, force=True)
            except (httpx.HTTPError, RestateHttpError) as error:
                log.info("waiting for %s: %s", uri, error)
                return None

        services = wait_until(register, timeout=timeout, interval=2, what=f"registering {uri}")
        log.info("registered %s: %s", uri, ", ".join(services))
        registered.update(services)
    for source, sink in subscriptions:
        admin.subscribe(source, sink, {"auto.offset.reset": "earliest"})
        log.info("subscribed %s -> %s", source, sink)
    for url in known_by:
        wait_until(partial(knows, url, registered), timeout=timeout, interval=1, what=f"{url} to know")
        log.info("%s knows every service", url)
    return 0


def knows(admin_url: str, services: set[str]) -> bool:
    """Whether the node at ``admin_url`` lists every one of ``services`` and answers a query that
    reads every partition: a node that has just joined can list the services while it still
    fails to reach the other nodes' partitions and log servers."""
    admin = Admin(admin_url)
    try:
        if not services <= set(admin.services()):
            return False
        admin.query(EVERY_PARTITION)
        return True
    except (httpx.HTTPError, RestateHttpError) as error:
        log.info("waiting for %s: %s", admin_url, error)
        return False
    finally:
        admin.close()


if __name__ == "__main__":
    sys.exit(main())
