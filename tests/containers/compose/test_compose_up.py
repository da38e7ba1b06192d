"""``docker compose up`` for real: podman-compose runs the project's docker-compose.yml, unchanged,
on the service images and the stand-ins of Restate, Kafka and Jaeger; then every pattern is walked
through the published ingress port, as the service READMEs show it, and a compensated saga's
trace is read back through Jaeger's published query API. Last, ``down`` and a second ``up`` on the
same volumes: Restate's state is still there.
"""

from __future__ import annotations

import itertools
import json
import shlex
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import partial
from typing import Any

import pytest
import yaml

from toolkit.producer import produce
from toolkit.waiting import wait_until

from .conftest import DECLINED_CARD, ROOT, typed

# The first test also pays for the stack's setup: on a new machine that builds the stand-ins and
# every image before `up` (about 7 minutes on 2 cores).
pytestmark = [pytest.mark.compose, pytest.mark.timeout(1800)]

KAFKA = "127.0.0.1:19092"  # the broker's listener for this machine
GO_PRODUCER = (
    "docker exec -it broker kafka-console-producer --bootstrap-server broker:29092 "
    "--topic social-media-posts --property parse.key=true --property key.separator=:"
)
RUN = uuid.uuid4().hex[:6]  # fresh keys in every run


def test_durable_rpc_answers_true_false_true(walk: Any) -> None:
    answers = [
        walk.ingress.call("ProductService", "Reserve", key=f"p{RUN}", idempotency_key=r) for r in "121"
    ]
    assert answers == [True, False, True]


def test_queued_task_runs_once_and_can_be_attached(walk: Any) -> None:
    task = {"id": f"task{RUN}", "description": "some heavy work"}
    sent = walk.ingress.send("AsyncTaskWorker", "RunTask", task, idempotency_key=task["id"])
    again = walk.ingress.send("AsyncTaskWorker", "RunTask", task, idempotency_key=task["id"])
    assert (again.invocation_id, again.status) == (sent.invocation_id, "PreviouslyAccepted")
    assert "description" in walk.ingress.attach(sent.invocation_id)


def test_webhook_is_routed_and_starts_a_reminder_chain(walk: Any) -> None:
    invoice = f"in_{RUN}"
    data = {"object": {"id": invoice, "customer": "cus_1"}}
    event = {"id": f"evt_{RUN}", "type": "invoice.payment_failed", "created": 1, "data": data}
    answer = walk.ingress.call("WebhookCallbackRouter", "OnStripeEvent", event)
    assert answer["routed_to"] == f"PaymentTracker/{invoice}/OnPaymentFailure"
    # The stack runs with SCHEDULINGTASKS_REMINDER_SECONDS=2 (as the README's demo with 5): the
    # three reminders, then the escalation.
    wait_until(
        lambda: f"Escalating invoice {invoice}" in walk.compose.logs("schedulingtasks", lines=400),
        timeout=90,
        interval=1,
        what="three reminders and the escalation",
    )
    assert walk.state("PaymentTracker", invoice).get("reminders_count") == 3


def test_upload_answers_in_time_or_mails_its_link(walk: Any) -> None:
    """The syncasync client, run in its container as `docker compose exec syncasync client`."""
    said = {}
    for n in range(4):  # half of the uploads are slow, by a draw per upload id
        upload = f"up{RUN}-{n}"
        done = walk.compose.exec("syncasync", "client", "--id", upload, "--timeout", "3")
        assert done.returncode == 0, done.stdout + done.stderr
        said[upload] = done.stdout
    for upload, output in said.items():
        url = walk.ingress.attach_workflow("DataUploadService", upload, timeout=60)
        if "Fast upload" in output:
            assert url in output
        else:
            assert f"the link will be mailed to {upload}@example.com" in output, output
            wait_until(partial(_mailed, walk, f"{upload}@example.com"), timeout=60, what="the mail")


def _mailed(walk: Any, address: str) -> bool:
    return f"to {address}" in walk.compose.logs("syncasync", lines=400)


def test_the_go_catalogues_get_calls_work_as_gets(walk: Any) -> None:
    package = f"get{RUN}"
    walk.ingress.call(
        "PackageTracker", "RegisterPackage", {"finalDestination": "Bridge 6, Amsterdam"}, key=package
    )
    info = walk.ingress.http.get(f"/PackageTracker/{package}/GetPackageInfo")
    assert info.status_code == 200, info.text
    assert info.json()["finalDestination"] == "Bridge 6, Amsterdam"
    # As in the Go catalogue: the limiter's rate first (a POST with a body), then the task as a GET.
    walk.ingress.call("Limiter", "SetRate", {"limit": 2, "burst": 1}, key="LimitedTask-RunTask")
    task = walk.ingress.http.get("/LimitedTask/RunTask", timeout=60)
    assert task.status_code == 200, task.text
    assert "grantedAt" in task.json()


def booking(card: str) -> dict[str, Any]:
    return {
        "flights": {"flight_id": "12345", "passenger_name": "John Doe"},
        "car": {"pickup_location": "Airport", "rental_date": "2024-12-16"},
        "payment_info": {"card_number": card, "amount": 1500},
    }


def test_saga_is_booked_or_compensated(walk: Any) -> None:
    # The stack runs with the sagas README's deterministic faults: one card is declined.
    booked = walk.ingress.raw("BookingWorkflow", "Run", booking("4111111111111111"), key=f"trip{RUN}")
    assert booked.status_code == 200, booked.text
    assert walk.state("BookingWorkflow", f"trip{RUN}").get("status") == "BOOKED"
    declined = walk.ingress.raw("BookingWorkflow", "Run", booking(DECLINED_CARD), key=f"trip{RUN}-x")
    assert declined.status_code == 422, declined.text
    assert walk.state("BookingWorkflow", f"trip{RUN}-x").get("status") == "CANCELLED"


def test_a_compensated_sagas_trace_is_in_jaeger(walk: Any) -> None:
    """Restate's spans (OTLP/gRPC to jaeger:4317) and the sagas container's own (OTLP/HTTP to
    jaeger:4318) in one trace, read on the published port: both reservations, then the undo in
    reverse order, car before flight."""
    trip = f"traced{RUN}"
    answer = walk.ingress.raw("BookingWorkflow", "Run", booking(DECLINED_CARD), key=trip)
    assert answer.status_code == 422, answer.text
    own = {"payments.charge", "payments.refund", "cars.cancel", "flights.cancel"}
    wanted = own | {"invocation-end BookingWorkflow/{key}/Run"}
    wanted |= {
        f"invocation-{e} {s}/{h}"
        for e in ("start", "end")
        for s in ("Flights", "CarRentals")
        for h in ("Reserve", "Cancel")
    }

    def complete() -> list[dict[str, Any]] | None:
        spans = walk.trace(f"BookingWorkflow/{trip}/Run")
        return spans if wanted <= {span["name"] for span in spans} else None

    spans = wait_until(complete, timeout=60, interval=0.5, what=f"the trace of {trip} in Jaeger")
    first: dict[str, dict[str, Any]] = {}
    for span in spans:
        first.setdefault(span["name"], span)
    reserved = [first[f"invocation-end {s}/Reserve"]["end"] for s in ("Flights", "CarRentals")]
    undo_car, undo_flight = (
        first[f"invocation-start {s}/Cancel"]["start"] for s in ("CarRentals", "Flights")
    )
    assert max(reserved) <= undo_car < undo_flight
    end = first["invocation-end BookingWorkflow/{key}/Run"]["tags"]
    assert (end["restate.invocation.result"], end["restate.invocation.error.code"]) == ("failure", "422")
    assert {first[name]["service"] for name in own} == {"sagas"}


def test_jaeger_is_healthy_and_answers_the_other_containers(walk: Any) -> None:
    """The compose file's health check passes in the jaeger container; another container reaches
    its OTLP ports and query API by name (the image listens on 0.0.0.0, not on localhost)."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    check = compose["services"]["jaeger"]["healthcheck"]["test"]
    assert check[0] == "CMD"
    done = walk.compose.exec("jaeger", *check[1:])
    assert done.returncode == 0, done.stdout + done.stderr
    probe = (
        "import json, socket, urllib.request as u\n"
        "for port in (4317, 4318):\n    socket.create_connection(('jaeger', port), timeout=5).close()\n"
        "print(json.load(u.urlopen('http://jaeger:16686/api/services', timeout=5))['errors'])"
    )
    result = walk.compose.exec("durablerpc", "python", "-c", probe)
    assert result.stdout.strip() == "None", result.stdout + result.stderr


def test_machine_transition_goes_up_once(walk: Any) -> None:
    # The demo injects a failure into 40 % of the machine API's calls and Restate retries them with
    # a growing backoff (capped at 10 s by restate.toml), so a single transition now and
    # then takes half a minute. Three machines go up side by side; the first one up is checked.
    sent = {f"m{RUN}-{i}": walk.ingress.send("MachineOperator", "SetUp", key=f"m{RUN}-{i}") for i in range(3)}

    def first_up() -> tuple[str, Any] | None:
        for machine, invocation in sent.items():
            response = walk.ingress.output(invocation.invocation_id)
            if response.status_code == 200:
                return machine, response.json()
        return None

    machine, answer = wait_until(first_up, timeout=120, interval=0.5, what="a machine to come up")
    assert answer == f"{machine} is now up"
    again = walk.ingress.call("MachineOperator", "SetUp", key=machine)
    assert again == f"{machine} is already up, so nothing to do"


def test_fan_out_gathers_every_part(walk: Any) -> None:
    answer = walk.ingress.call("FanOutWorker", "Run", {"description": "a,b,c"}, timeout=60)
    assert answer == {"description": "a: DONE,b: DONE,c: DONE"}


def test_kafka_post_and_package_update_are_processed(walk: Any) -> None:
    user, package = f"user{RUN}", f"pkg{RUN}"
    walk.ingress.call("PackageTracker", "RegisterPackage", {"finalDestination": "Amsterdam"}, key=package)
    produce(KAFKA, "social-media-posts", [(user, json.dumps({"content": "Hi!", "metadata": "public"}))])
    update = {"timestamp": "2024-05-01T10:00:00Z", "location": "Rotterdam"}
    produce(KAFKA, "package-location-updates", [(package, json.dumps(update))])
    locations = wait_until(
        lambda: walk.ingress.call("PackageTracker", "GetPackageInfo", key=package)["locations"], timeout=60
    )
    assert locations == [update]
    # The post is created and its moderation polled (approval takes a few polls of 5 s).
    steps = "SELECT j.name FROM sys_journal j JOIN sys_invocation i ON j.id = i.id WHERE i.target = "
    steps += f"'UserFeed/{user}/ProcessPost'"
    wanted = {"create-post", "check-status"}
    wait_until(
        lambda: wanted <= {r.get("name") for r in walk.admin.query(steps)}, timeout=60, what="the post"
    )


def test_the_go_catalogues_producer_command_runs_as_written(walk: Any, docker_host: dict[str, str]) -> None:
    """The Kafka step of Restate's Go catalogue, typed at a terminal as its README says."""
    user = f"go{RUN}"
    posts = [
        f'{user}:{{"content": "Hi! This is my {n} post!", "metadata": "public"}}' for n in ("first", "second")
    ]
    typed(shlex.split(GO_PRODUCER), posts, docker_host)
    query = f"SELECT count(*) AS n FROM sys_invocation WHERE target = 'UserFeed/{user}/ProcessPost'"
    wait_until(lambda: walk.admin.query(query)[0]["n"] == len(posts), timeout=60, what="both posts")


def test_rate_limiter_spaces_the_tasks(walk: Any) -> None:
    walk.ingress.call("Limiter", "SetRate", {"limit": 2, "burst": 1}, key="LimitedTask-RunTask")
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda _: walk.ingress.call("LimitedTask", "RunTask", timeout=60), range(6)))
    granted = sorted(datetime.fromisoformat(r["grantedAt"]).timestamp() for r in results)
    gaps = [later - earlier for earlier, later in itertools.pairwise(granted)]
    assert all(0.45 <= gap <= 0.55 for gap in gaps), gaps


def test_cron_job_fires_until_cancelled(walk: Any) -> None:
    payload = f"tick-{RUN}"
    request = {"cronExpression": "* * * * * *", "service": "TaskService", "method": "ExecuteTask"}
    job = walk.ingress.call("CronJobInitiator", "Create", {**request, "payload": payload})["jobId"]
    runs = "SELECT count(*) AS n FROM sys_invocation WHERE target = 'TaskService/ExecuteTask'"
    runs += " AND status = 'completed'"
    before = walk.admin.query(runs)[0]["n"]
    wait_until(lambda: walk.admin.query(runs)[0]["n"] >= before + 2, timeout=30, what="two runs of the job")
    walk.ingress.call("CronJob", "Cancel", key=job)
    # Nothing of the job is left scheduled, so it never runs again.
    pending = "SELECT count(*) AS n FROM sys_invocation WHERE target_service_name = 'CronJob'"
    pending += f" AND target_service_key = '{job}' AND status != 'completed'"
    wait_until(
        lambda: walk.admin.query(pending)[0]["n"] == 0, timeout=30, what="the job's scheduled run cancelled"
    )
    assert walk.ingress.raw("CronJob", "GetInfo", key=job).status_code == 404


def test_service_containers_refuse_unsigned_requests(walk: Any) -> None:
    probe = (
        "import urllib.request as u, urllib.error as e\n"
        "request = u.Request('http://queue:9082/invoke/AsyncTaskWorker/RunTask', b'{}', method='POST')\n"
        "try:\n    u.urlopen(request, timeout=5)\nexcept e.HTTPError as error:\n    print(error.code)"
    )
    result = walk.compose.exec("durablerpc", "python", "-c", probe)
    assert result.stdout.strip() == "401", result.stdout + result.stderr


def test_down_stops_everything_and_up_keeps_restates_state(walk: Any) -> None:
    walk.compose.down()
    assert walk.compose.containers() == []
    assert walk.ports_in_use() == []
    walk.up()
    assert walk.ingress.call("ProductService", "Reserve", key=f"p{RUN}", idempotency_key="3") is False
