"""A Restate cluster of several nodes on one machine, the way Restate runs clustered.

Every node runs every role (metadata server, admin, worker, log server, HTTP ingress); metadata
is replicated among them, the log is Restate's replicated loglet, and each partition's log and
state are kept on ``replication`` nodes. The first node provisions the cluster; the others join
it through the metadata addresses, which list every node. Each node has its own base dir, node
name and ports, so any one of them can be killed and started again on its data.

    node 1 (provisions)   node 2   node 3       each: ingress, admin, node port
        \\____ replicated metadata + replicated log ____/
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from common.ingress import Admin
from toolkit.infra.restate import RestatePorts, RestateServer
from toolkit.waiting import wait_until

NODE_PORT_STEP = 10_000  # node 2 adds 20000 to each of node 1's ports, node 3 adds 30000
ROLES = ["metadata-server", "admin", "worker", "log-server", "http-ingress"]
CLUSTER_NAME = "patterns"


def node_env(
    index: int, ports: list[RestatePorts], *, replication: int, host: str = "127.0.0.1"
) -> dict[str, str]:
    """The settings of node ``index`` (0-based) of a cluster on ``ports``."""
    return {
        "RESTATE_CLUSTER_NAME": CLUSTER_NAME,
        "RESTATE_ROLES": json.dumps(ROLES),
        "RESTATE_DEFAULT_REPLICATION": str(replication),
        "RESTATE_METADATA_SERVER__TYPE": "replicated",
        "RESTATE_BIFROST__DEFAULT_PROVIDER": "replicated",
        "RESTATE_METADATA_CLIENT__ADDRESSES": json.dumps([f"http://{host}:{p.node}" for p in ports]),
        "RESTATE_AUTO_PROVISION": "true" if index == 0 else "false",
    }


def node_ports(first: RestatePorts, count: int) -> list[RestatePorts]:
    """The ports of ``count`` nodes from the first node's: 8080, 28080, 38080 and so on."""
    return [first] + [
        RestatePorts(
            ingress=first.ingress + (i + 1) * NODE_PORT_STEP,
            admin=first.admin + (i + 1) * NODE_PORT_STEP,
            node=first.node + (i + 1) * NODE_PORT_STEP,
        )
        for i in range(1, count)
    ]


def wait_known(admin_urls: list[str], services: set[str], timeout: float = 60.0) -> None:
    """Wait until every node knows ``services``: a cluster spreads what one node's admin API
    registered to the others a little later, and until then their ingress answers 404 for it."""
    for url in admin_urls:
        admin = Admin(url)
        try:
            wait_until(
                lambda admin=admin: services <= set(admin.services()),  # type: ignore[misc]
                timeout=timeout,
                interval=0.2,
                what=f"the node at {url} to know {sorted(services)}",
            )
        finally:
            admin.close()


class RestateCluster:
    """``len(ports)`` nodes; ``nodes[i]`` is a ``RestateServer`` that can be killed and restarted."""

    def __init__(
        self,
        base_dir: Path,
        ports: list[RestatePorts],
        *,
        replication: int = 2,
        config_file: Path | None = None,
        signing_key: Path | None = None,
        env: Mapping[str, str] | None = None,
        log_dir: Path | None = None,
    ) -> None:
        self.nodes = [
            RestateServer(
                base_dir / f"n{i + 1}",
                ports=node_ports,
                config_file=config_file,
                signing_key=signing_key,
                env={**(env or {}), **node_env(i, ports, replication=replication)},
                log_path=(log_dir or base_dir) / f"restate-n{i + 1}.log",
                node_name=f"n{i + 1}",
            )
            for i, node_ports in enumerate(ports)
        ]

    def start(self, timeout: float = 90.0) -> None:
        """Start every node at once (the first provisions, the others wait for it), then wait
        until each one's admin and ingress answer."""
        for node in self.nodes:
            node.base_dir.mkdir(parents=True, exist_ok=True)
            node.process.start()
        for node in self.nodes:
            wait_until(node.healthy, timeout=timeout, interval=0.2, what=f"Restate node {node.node_name}")

    def stop(self) -> None:
        for node in reversed(self.nodes):
            node.stop()

    @property
    def ingress_urls(self) -> list[str]:
        return [node.ingress_url for node in self.nodes]

    @property
    def admin_urls(self) -> list[str]:
        return [node.admin_url for node in self.nodes]
