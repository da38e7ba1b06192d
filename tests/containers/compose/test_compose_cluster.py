"""The compose cluster variant for real: podman-compose runs docker-compose.yml with
docker-compose.cluster.yml on top, three Restate nodes and three Kafka brokers beside every
service. The patterns answer through every node's ingress, every node's spans reach the one
Jaeger, a node and a broker are ``kill -9``-ed and calls and records still go through the others,
and a service scaled to two replicas answers every call.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import httpx
import pytest

from common.ingress import Ingress
from toolkit.producer import produce
from toolkit.waiting import wait_until

from .conftest import MEMBERS, Walk

pytestmark = [pytest.mark.compose, pytest.mark.cluster, pytest.mark.timeout(1800)]

BROKERS = ("127.0.0.1:19092", "127.0.0.1:19093", "127.0.0.1:19094")  # the brokers' host listeners
TOPICS = (
    "social-media-posts",
    "social-media-posts.dlq",
    "package-location-updates",
    "package-location-updates.dlq",
)
log = logging.getLogger(__name__)
RUN = uuid.uuid4().hex[:6]


def test_every_node_knows_every_service_when_the_registration_job_is_done(cluster: Walk) -> None:
    registered = {
        deployment["id"] for deployment in cluster.admin.http.get("/deployments").json()["deployments"]
    }
    assert len(registered) == len(MEMBERS)
    known = [set(admin.services()) for admin in cluster.admins]
    assert known[0] and known[0] == known[1] == known[2]


def test_every_topic_has_three_replicas_and_needs_two_in_sync(cluster: Walk) -> None:
    for topic in TOPICS:
        described = cluster.compose.exec(
            "broker",
            "kafka-topics",
            "--bootstrap-server",
            "broker:29092",
            "--describe",
            "--topic",
            topic,
        )
        assert "ReplicationFactor: 3" in described.stdout, described.stdout + described.stderr
        assert "min.insync.replicas=2" in described.stdout, described.stdout


def test_one_key_answers_the_same_through_every_node(cluster: Walk) -> None:
    first, second, third = cluster.ingresses
    product = f"p{RUN}"
    answers = [
        first.call("ProductService", "Reserve", key=product, idempotency_key="1"),
        second.call("ProductService", "Reserve", key=product, idempotency_key="2"),
        # The first request again, through the third node: its answer, not a new reservation.
        third.call("ProductService", "Reserve", key=product, idempotency_key="1"),
    ]
    assert answers == [True, False, True]


def test_a_saga_and_a_fan_out_through_the_other_nodes(cluster: Walk) -> None:
    booking = {
        "flights": {"flight_id": "12345", "passenger_name": "John Doe"},
        "car": {"pickup_location": "Airport", "rental_date": "2024-12-16"},
        "payment_info": {"card_number": "4111111111111111", "amount": 1500},
    }
    response = cluster.ingresses[1].raw("BookingWorkflow", "Run", booking, key=f"trip{RUN}", timeout=120)
    status = cluster.admins[2].state("BookingWorkflow", f"trip{RUN}").get("status")
    assert (response.status_code, status) in {(200, "BOOKED"), (422, "CANCELLED")}, response.text
    answer = cluster.ingresses[2].call("FanOutWorker", "Run", {"description": "a,b,c"}, timeout=60)
    assert answer == {"description": "a: DONE,b: DONE,c: DONE"}


def test_every_node_sends_its_spans_to_the_one_jaeger(cluster: Walk) -> None:
    """A call through each node's ingress: its trace in Jaeger has the ingress span of that node."""
    for node, ingress in zip(("restate", "restate-2", "restate-3"), cluster.ingresses, strict=True):
        product = f"traced{RUN}-{node}"
        assert ingress.call("ProductService", "Reserve", key=product) is True

        def ingress_spans(product: str = product) -> list[Any] | None:
            spans = cluster.trace(f"ProductService/{product}/Reserve")
            return [span["instance"] for span in spans if span["name"].startswith("ingress ")] or None

        found = wait_until(
            ingress_spans, timeout=60, interval=0.5, what=f"the trace of a call through {node}"
        )
        assert found == [f"patterns/{node}"]


def test_records_produced_to_any_broker_reach_state_on_every_node(cluster: Walk) -> None:
    package = f"pkg{RUN}"
    cluster.ingresses[0].call(
        "PackageTracker", "RegisterPackage", {"finalDestination": "Amsterdam"}, key=package
    )
    updates = [{"timestamp": f"2024-05-01T1{i}:00:00Z", "location": f"hub-{i}"} for i in range(3)]
    for broker, update in zip(BROKERS, updates, strict=True):
        produce(broker, "package-location-updates", [(package, json.dumps(update))])
    for ingress in cluster.ingresses:
        locations = wait_until(
            partial(_locations, ingress, package, len(updates)), timeout=60, what="the updates"
        )
        assert locations == updates


def test_losing_a_node_loses_no_call(cluster: Walk) -> None:
    """``kill -9`` node 2: calls through nodes 1 and 3 keep being answered, each reservation once;
    node 2 answers again once it is back, with the same state."""
    survivors = [cluster.ingresses[0], cluster.ingresses[2]]
    cluster.compose.kill("restate-2")
    killed = time.monotonic()
    products = [f"lost{RUN}-{i}" for i in range(20)]

    def reserve(index: int) -> Any:
        return survivors[index % 2].call("ProductService", "Reserve", key=products[index])

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(reserve, range(len(products))))
    log.info("20 calls through the surviving nodes answered %.1f s after the kill", time.monotonic() - killed)
    assert answers == [True] * len(products)
    _back(cluster, "restate-2", lambda: _answers(cluster.ingresses[1]))
    again = [cluster.ingresses[1].call("ProductService", "Reserve", key=product) for product in products]
    assert again == [False] * len(products)


def test_losing_a_broker_loses_no_record(cluster: Walk) -> None:
    """``kill -9`` broker 2 (``broker-2``): records produced to the other two are applied, in order, once."""
    package = f"broker{RUN}"
    cluster.ingresses[0].call("PackageTracker", "RegisterPackage", {"finalDestination": "Oslo"}, key=package)
    cluster.compose.kill("broker-2")
    updates = [{"timestamp": f"2024-06-01T10:0{i}:00Z", "location": f"stop-{i}"} for i in range(8)]
    produce(
        f"{BROKERS[0]},{BROKERS[2]}", "package-location-updates", [(package, json.dumps(u)) for u in updates]
    )
    locations = wait_until(lambda: _locations(cluster.ingresses[2], package, len(updates)), timeout=120)
    assert locations == updates
    _back(cluster, "broker-2", lambda: _broker_answers(cluster))
    assert _locations(cluster.ingresses[1], package, len(updates)) == updates


def test_a_second_replica_takes_the_calls_once_the_first_stops(cluster: Walk) -> None:
    """``--scale durablerpc=2`` runs a second replica under the name the deployment was registered
    with. Restate keeps using the HTTP/2 connections it has open, so the calls do not spread over
    the replicas by themselves (the counts are logged; docs/cluster.md says what they showed).
    Once the first replica is stopped, the calls go to the second, and none is lost."""
    cluster.compose.up("--scale", "durablerpc=2", "durablerpc")
    wait_until(lambda: len(_running(cluster, "durablerpc")) == 2, timeout=120, what="two durablerpc replicas")
    first, second = _running(cluster, "durablerpc")
    before = [f"scaled{RUN}n{i:03d}" for i in range(40)]  # none a prefix of another
    assert _reserve_all(cluster, before) == [True] * len(before)
    served = {replica["Names"][0]: _served(cluster, replica, before) for replica in (first, second)}
    log.info("40 calls to durablerpc with two replicas, served per replica: %s", served)
    assert sum(served.values()) == len(before)
    cluster.compose.stop_container(first)
    after = [f"failover{RUN}n{i:03d}" for i in range(20)]
    assert _reserve_all(cluster, after) == [True] * len(after)
    assert _served(cluster, second, after) == len(after)


def _reserve_all(cluster: Walk, products: list[str]) -> list[Any]:
    """Reserve each product once, the calls spread over every node's ingress, 8 at a time."""

    def reserve(index: int) -> Any:
        ingress = cluster.ingresses[index % len(cluster.ingresses)]
        return ingress.call("ProductService", "Reserve", key=products[index])

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(reserve, range(len(products))))


def _served(cluster: Walk, replica: dict[str, Any], products: list[str]) -> int:
    """How many of ``products`` the replica's log shows it reserved."""
    logged = cluster.compose.replica_logs(replica)
    return sum(product in logged for product in products)


def _locations(ingress: Ingress, package: str, count: int) -> list[Any] | None:
    locations = ingress.call("PackageTracker", "GetPackageInfo", key=package)["locations"]
    return locations if len(locations) >= count else None


def _answers(ingress: Ingress) -> bool:
    try:
        return ingress.call("ProductService", "Reserve", key=f"probe{RUN}") in {True, False}
    except httpx.HTTPError:
        return False


def _broker_answers(cluster: Walk) -> bool:
    probe = cluster.compose.exec(
        "broker-2", "kafka-broker-api-versions", "--bootstrap-server", "localhost:29092"
    )
    return probe.returncode == 0


def _running(cluster: Walk, service: str) -> list[dict[str, Any]]:
    return [c for c in cluster.compose.replicas(service) if c["State"] == "running"]


def _back(cluster: Walk, service: str, answers: Any) -> None:
    """Start the killed container again if podman's restart policy has not, then wait until it answers."""

    def started() -> bool:
        container = cluster.compose.container(service)
        if container is not None and container["State"] != "running":
            cluster.compose.start(service)
        return answers()

    wait_until(started, timeout=180, interval=2, what=f"{service} back")
