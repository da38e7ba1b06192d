"""``patterns up --tracing``: the Restate server exports every invocation's trace to Jaeger, and a
saga that compensates can be found there with its reservations, its declined charge and its
compensations in reverse order.

The stack runs as the README starts it (sagas only, on free ports, the payment provider declining
one card), and the trace is read back through Jaeger's query API, as the UI reads it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from toolkit.infra import jaeger
from toolkit.infra.paths import free_port
from toolkit.infra.process import bindable
from toolkit.waiting import GiveUp, wait_until

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
DECLINED_CARD = "4000000000000002"


class Stack:
    def __init__(self, workdir: Path) -> None:
        if (reason := jaeger.unavailable_reason()) is not None:
            pytest.skip(f"Jaeger cannot run here: {reason}")
        self.ports = {name: free_port() for name in ("ingress", "admin", "node", "jaeger", "sagas")}
        otlp = free_port()
        while otlp + 1 in self.ports.values() or not bindable(otlp + 1):
            otlp = free_port()
        self.ports["otlp"] = otlp
        self.log = workdir / "stack.log"
        argv = [
            str(Path(sys.executable).with_name("patterns")),
            "up",
            "--only=sagas",
            "--tracing",
            "--quiet",
            *(f"--{name}-port={self.ports[name]}" for name in ("ingress", "admin", "node", "jaeger", "otlp")),
            f"--data-dir={workdir / 'data'}",
        ]
        env = {
            **os.environ,
            "PORT": str(self.ports["sagas"]),
            "SAGAS_PAYMENT__DECLINE__MODE": "match",
            "SAGAS_PAYMENT__DECLINE__MATCH": json.dumps([DECLINED_CARD]),
            "SAGAS_PAYMENT__FAILURE__MODE": "off",
        }
        with self.log.open("w") as out:
            self.process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        self.ingress = f"http://127.0.0.1:{self.ports['ingress']}"
        self.jaeger = f"http://127.0.0.1:{self.ports['jaeger']}"

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_up(self) -> None:
        def up() -> bool:
            if self.process.poll() is not None:
                raise GiveUp(f"patterns up exited:\n{self.text()}")
            return "Ctrl-C stops everything." in self.text()

        wait_until(up, timeout=900, interval=0.2, what="the stack with Jaeger (built on first use)")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    started = Stack(tmp_path_factory.mktemp("traced"))
    try:
        started.wait_up()
        yield started
    finally:
        started.stop()


def book(stack: Stack, card: str) -> tuple[str, httpx.Response]:
    trip = f"trip-{uuid.uuid4().hex[:8]}"
    body = {
        "flights": {"flight_id": "12345", "passenger_name": "John Doe"},
        "car": {"pickup_location": "Airport", "rental_date": "2024-12-16"},
        "payment_info": {"card_number": card, "amount": 1500},
    }
    return trip, httpx.post(f"{stack.ingress}/BookingWorkflow/{trip}/Run", json=body, timeout=60)


def trace_of(stack: Stack, trip: str) -> list[dict[str, Any]]:
    """The spans of the trace whose root is ``BookingWorkflow/<trip>/Run``, in start order, once
    the workflow's end has arrived in Jaeger; each with its ``service``, ``tags`` and ``events``."""
    target = f"BookingWorkflow/{trip}/Run"

    def found() -> list[dict[str, Any]] | None:
        answer = httpx.get(
            f"{stack.jaeger}/api/traces",
            params={
                "service": "Restate",
                "tags": json.dumps({"restate.invocation.target": target}),
                "lookback": "1h",
            },
            timeout=10,
        )
        answer.raise_for_status()
        for trace in answer.json()["data"] or []:
            spans = [_span(span, trace["processes"]) for span in trace["spans"]]
            if any(s["name"].startswith("invocation-end BookingWorkflow") for s in spans):
                return sorted(spans, key=lambda s: s["start"])
        return None

    return wait_until(found, timeout=60, interval=0.5, what=f"the trace of {target} in Jaeger")


def _span(span: dict[str, Any], processes: dict[str, Any]) -> dict[str, Any]:
    parents = [ref["spanID"] for ref in span["references"] if ref["refType"] == "CHILD_OF"]
    return {
        "span_id": span["spanID"],
        "parent": parents[0] if parents else None,
        "name": span["operationName"],
        "service": processes[span["processID"]]["serviceName"],
        "start": span["startTime"],
        "end": span["startTime"] + span["duration"],
        "tags": {tag["key"]: tag["value"] for tag in span["tags"]},
        "events": [{field["key"]: field["value"] for field in log["fields"]} for log in span["logs"]],
    }


def first(spans: list[dict[str, Any]], name: str) -> dict[str, Any]:
    matching = [s for s in spans if s["name"] == name]
    assert matching, f"no span {name!r} in {[s['name'] for s in spans]}"
    return matching[0]


def test_the_stack_says_where_the_traces_are(stack: Stack) -> None:
    assert f"traces    {stack.jaeger} (Jaeger; OTLP http://127.0.0.1:{stack.ports['otlp']})" in stack.text()
    assert httpx.get(f"{stack.jaeger}/api/services", timeout=10).status_code == 200


def test_a_compensating_saga_shows_its_reservations_charge_and_undo_in_reverse_order(stack: Stack) -> None:
    trip, answer = book(stack, DECLINED_CARD)
    assert answer.status_code == 422, answer.text
    spans = trace_of(stack, trip)

    flight, car = (
        first(spans, "invocation-start Flights/Reserve"),
        first(spans, "invocation-start CarRentals/Reserve"),
    )
    undo_car, undo_flight = (
        first(spans, "invocation-start CarRentals/Cancel"),
        first(spans, "invocation-start Flights/Cancel"),
    )
    end = first(spans, "invocation-end BookingWorkflow/{key}/Run")
    assert end["tags"]["restate.invocation.result"] == "failure"
    assert end["tags"]["restate.invocation.error.code"] == "422"
    reserved = max(
        first(spans, "invocation-end Flights/Reserve")["end"],
        first(spans, "invocation-end CarRentals/Reserve")["end"],
    )
    assert (
        min(flight["start"], car["start"])
        < reserved
        <= undo_car["start"]
        < undo_flight["start"]
        <= end["start"]
    )
    for name in ("Flights/Cancel", "CarRentals/Cancel"):
        assert first(spans, f"invocation-end {name}")["tags"]["restate.invocation.result"] == "success"

    # the workflow's own steps are events of its attempt: the charge, declined, then its refund
    attempt = first(spans, "invocation-attempt BookingWorkflow/{key}/Run")
    runs = [
        e.get("restate.journal.command.name")
        for e in attempt["events"]
        if e.get("restate.journal.command.type") == "Command/Run"
    ]
    assert runs == ["charge", "refund"], attempt["events"]
    assert {
        s["tags"]["restate.invocation.id"] for s in spans if s["name"].endswith("BookingWorkflow/{key}/Run")
    } == {attempt["tags"]["restate.invocation.id"]}


def test_the_service_s_own_calls_to_the_providers_join_the_same_trace(stack: Stack) -> None:
    """The sagas service exports a span per call to a fake provider, parented on the attempt that
    made it: the declined charge is an error, and the undo calls come after it."""
    trip, answer = book(stack, DECLINED_CARD)
    assert answer.status_code == 422, answer.text

    def complete() -> list[dict[str, Any]] | None:
        spans = trace_of(stack, trip)
        return spans if len([s for s in spans if s["service"] == "sagas"]) >= 6 else None

    spans = wait_until(complete, timeout=60, interval=0.5, what="the service's spans in the trace")
    own = {s["name"]: s for s in spans if s["service"] == "sagas"}
    assert set(own) == {
        "flights.reserve",
        "cars.reserve",
        "payments.charge",
        "payments.refund",
        "cars.cancel",
        "flights.cancel",
    }, sorted(own)
    charge = own["payments.charge"]
    assert charge["tags"].get("error") is True or charge["tags"].get("otel.status_code") == "ERROR", charge[
        "tags"
    ]
    assert charge["tags"]["fake.attempt"] == 1
    assert own["payments.refund"]["tags"]["fake.key"] == charge["tags"]["fake.key"]
    assert charge["end"] <= own["payments.refund"]["start"]
    assert own["cars.cancel"]["start"] < own["flights.cancel"]["start"]
    # each is a child of the attempt of the invocation that made it
    attempts = {s["span_id"]: s["name"] for s in spans if s["name"].startswith("invocation-attempt")}
    assert attempts[charge["parent"]] == "invocation-attempt BookingWorkflow/{key}/Run"
    assert attempts[own["flights.cancel"]["parent"]] == "invocation-attempt Flights/Cancel"


def test_a_saga_that_succeeds_has_no_compensation_in_its_trace(stack: Stack) -> None:
    trip, answer = book(stack, "4111111111111111")
    assert answer.status_code == 200, answer.text
    names = [s["name"] for s in trace_of(stack, trip)]
    assert "invocation-start Flights/Confirm" in names and "invocation-start CarRentals/Confirm" in names, (
        names
    )
    assert not [n for n in names if "Cancel" in n], names
