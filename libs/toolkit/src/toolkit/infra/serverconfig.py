"""The Restate server's configuration: one file, and every way the servers here differ from it.

``restate.toml`` at the repository root is the configuration of every server this project starts:
the local stack's (``patterns up``), the test harness's (and so the benchmark's) and the compose
file's. What differs between them is set through Restate's environment variables (nested keys as
``RESTATE_<SECTION>__<KEY>``), and only here:

- local: nothing.
- test (``for_tests``): ``my-cluster``'s broker on a free port, with consumer sessions of 3 s so
  that a restarted server gets its partitions at once; retries from 100 ms up to 2 s, so a test
  waiting on a restarted service does not sit in a long backoff.
- compose (``COMPOSE``): ``my-cluster``'s broker is the ``broker`` container (``broker:29092``);
  ``docker-compose.yml`` sets it on its ``restate`` service and ``tests/containers`` keeps the two
  equal.

Ports, data dir, node name and the signing key are the process's own, set by ``RestateServer``.
"""

from __future__ import annotations

import json
from pathlib import Path

from common.events import CLUSTER

CONFIG_FILE = "restate.toml"


def kafka_clusters(broker: str, **consumer: str) -> str:
    """``ingress.kafka-clusters`` as one environment value: the cluster ``my-cluster`` at ``broker``
    (``host:port``, or several joined by commas)."""
    brokers = ", ".join(json.dumps("PLAINTEXT://" + b) for b in broker.split(","))
    fields = [f"name = {json.dumps(CLUSTER)}", f"brokers = [{brokers}]"]
    fields += [f"{json.dumps(key)} = {json.dumps(value)}" for key, value in consumer.items()]
    return "[{" + ", ".join(fields) + "}]"


def config_file(root: Path) -> Path:
    path = root / CONFIG_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: every Restate server here reads it")
    return path


def for_tests(*kafka_ports: int) -> dict[str, str]:
    brokers = ",".join(f"127.0.0.1:{port}" for port in kafka_ports)
    return {
        "RESTATE_INGRESS__KAFKA_CLUSTERS": kafka_clusters(
            brokers, **{"session.timeout.ms": "3000", "heartbeat.interval.ms": "500"}
        ),
        "RESTATE_DEFAULT_RETRY_POLICY__INITIAL_INTERVAL": "100ms",
        "RESTATE_DEFAULT_RETRY_POLICY__MAX_INTERVAL": "2s",
    }


COMPOSE = {"RESTATE_INGRESS__KAFKA_CLUSTERS": kafka_clusters("broker:29092")}
