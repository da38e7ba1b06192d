"""PackageTracker: registrations over HTTP joined with location updates from a real Kafka broker."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from eventenrichment.service import LOCATION_UPDATES

from common.ingress import Admin, Ingress, RestateHttpError
from toolkit.infra.kafka import KafkaBroker
from toolkit.infra.restate import ensure_restate
from toolkit.producer import dead_letters, produce
from toolkit.testing import Harness, ServiceHandle
from toolkit.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.kafka]

# Updates at Atlantis fail (👻, retried) until an operator steps in; every other update succeeds.
ENV = {"EVENTENRICHMENT_FAILURE__MODE": "match", "EVENTENRICHMENT_FAILURE__MATCH": '["Atlantis"]'}


def start(harness: Harness) -> ServiceHandle:
    service = harness.service("eventenrichment", **ENV)
    harness.subscribe(LOCATION_UPDATES)
    return service


def update(location: str, n: int = 0) -> dict[str, str]:
    return {"timestamp": f"2024-05-01T10:{n:02d}:00Z", "location": location}


def send(kafka: KafkaBroker, package: str, *updates: dict[str, str] | str) -> list[int]:
    values = [u if isinstance(u, str) else json.dumps(u) for u in updates]
    return [o for _, _, o in produce(kafka.bootstrap, LOCATION_UPDATES.topic, [(package, v) for v in values])]


def locations(ingress: Ingress, package: str) -> list[dict[str, str]]:
    return list(ingress.call("PackageTracker", "GetPackageInfo", key=package)["locations"])


def wait_for_locations(ingress: Ingress, package: str, count: int) -> list[dict[str, str]]:
    def enough() -> list[dict[str, str]] | None:
        found = locations(ingress, package)
        return found if len(found) >= count else None

    return wait_until(enough, timeout=60, what=f"{count} locations of {package}")


def register(ingress: Ingress, package: str, destination: str = "Berlin") -> None:
    ingress.call("PackageTracker", "RegisterPackage", {"finalDestination": destination}, key=package)


def invocations(admin: Admin, package: str) -> list[dict[str, object]]:
    return admin.query(
        "SELECT id, status, completion_result, completion_failure FROM sys_invocation "
        f"WHERE target_service_name = 'PackageTracker' AND target_service_key = '{package}' "
        "AND target_handler_name = 'UpdateLocation' ORDER BY created_at"
    )


def test_updates_from_kafka_join_the_registered_package_in_arrival_order(
    harness: Harness, kafka: KafkaBroker, ingress: Ingress, unique: str
) -> None:
    start(harness)
    register(ingress, unique, "Berlin")
    path = [update(city, n) for n, city in enumerate(["Lisbon", "Madrid", "Paris", "Brussels"])]
    send(kafka, unique, *path)
    assert wait_for_locations(ingress, unique, 4) == path
    assert ingress.call("PackageTracker", "GetPackageInfo", key=unique)["finalDestination"] == "Berlin"
    argv = [str(ensure_restate().cli), "kv", "get", "PackageTracker", unique]
    env = {**os.environ, "RESTATE_ADMIN_URL": harness.server.admin_url}
    shown = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30, check=True)
    assert "package-info" in shown.stdout and "finalDestination" in shown.stdout
    assert all(city in shown.stdout for city in ("Lisbon", "Madrid", "Paris", "Brussels"))


def test_an_update_for_an_unknown_package_fails_terminally_and_does_not_block(
    harness: Harness, kafka: KafkaBroker, ingress: Ingress, admin: Admin, unique: str
) -> None:
    start(harness)
    send(kafka, unique, update("Nowhere"))
    (failed,) = wait_until(
        lambda: [row for row in invocations(admin, unique) if row["status"] == "completed"],
        timeout=60,
        what="the update to fail",
    )
    assert failed["completion_result"] == "failure"
    assert "package not found" in str(failed["completion_failure"])
    with pytest.raises(RestateHttpError) as missing:
        ingress.call("PackageTracker", "GetPackageInfo", key=unique)
    assert missing.value.status == 404
    register(ingress, unique)
    send(kafka, unique, update("Somewhere"))
    assert wait_for_locations(ingress, unique, 1) == [update("Somewhere")]


def test_poison_records_go_to_the_dead_letter_topic_and_the_key_goes_on(
    harness: Harness, kafka: KafkaBroker, ingress: Ingress, unique: str
) -> None:
    start(harness)
    register(ingress, unique)
    offsets = send(kafka, unique, "{oops", '{"location": "Paris"}', update("Paris"))
    assert wait_for_locations(ingress, unique, 1) == [update("Paris")]
    letters = [x for x in dead_letters(kafka.bootstrap, LOCATION_UPDATES) if x["key"] == unique]
    assert [x["value"] for x in letters] == ["{oops", '{"location": "Paris"}']
    assert "not valid JSON" in letters[0]["reason"]
    assert "timestamp: Field required" in letters[1]["reason"]
    assert [x["kafka.offset"] for x in letters] == [str(o) for o in offsets[:2]]


def test_the_shared_getter_answers_while_an_update_is_stuck(
    harness: Harness, kafka: KafkaBroker, ingress: Ingress, admin: Admin, unique: str
) -> None:
    start(harness)
    register(ingress, unique)
    send(kafka, unique, update("Lisbon", 1), update("Atlantis", 2), update("Paris", 3))
    wait_until(
        lambda: any(row["status"] == "backing-off" for row in invocations(admin, unique)),
        timeout=60,
        what="the Atlantis update to be retried",
    )
    # An exclusive getter would queue behind the update that never succeeds and never answer; the
    # shared one answers at once (the deadline only stops the wait), with Paris still behind Atlantis.
    shown = ingress.call("PackageTracker", "GetPackageInfo", key=unique, timeout=10)["locations"]
    assert shown == [update("Lisbon", 1)]
    stuck = next(row for row in invocations(admin, unique) if row["status"] == "backing-off")
    admin.kill(str(stuck["id"]))  # the operator drops the update that cannot succeed
    assert wait_for_locations(ingress, unique, 2) == [update("Lisbon", 1), update("Paris", 3)]


@pytest.mark.parametrize(
    ("body", "names"),
    [
        (b'{"finalDestination": ', "not valid JSON"),
        (b"{}", "finalDestination: Field required"),
        (b'{"final_destination": "Berlin"}', "final_destination: Extra inputs are not permitted"),
        (b'{"finalDestination": "B", "locations": [{"location": "x"}]}', "locations.0.timestamp"),
    ],
)
def test_bad_registrations_are_a_400_and_store_nothing(
    harness: Harness, ingress: Ingress, unique: str, body: bytes, names: str
) -> None:
    harness.service("eventenrichment", **ENV)
    response = ingress.raw("PackageTracker", "RegisterPackage", body, key=unique, timeout=10)
    assert response.status_code == 400, response.text
    assert names in response.json()["message"]
    assert ingress.raw("PackageTracker", "GetPackageInfo", key=unique, timeout=10).status_code == 404


@pytest.mark.crash
def test_killing_the_service_mid_stream_applies_every_update_once_in_order(
    harness: Harness, kafka: KafkaBroker, ingress: Ingress, unique: str
) -> None:
    service = start(harness)
    register(ingress, unique)
    path = [update(f"stop {n}", n) for n in range(30)]
    send(kafka, unique, *path)
    wait_for_locations(ingress, unique, 1)
    service.kill()  # mid-stream: the rest of the updates wait in Restate, in order
    service.restart()
    assert wait_for_locations(ingress, unique, len(path)) == path
