"""BookingWorkflow through crashes of the service and of the server, and with the demo's random failures."""

from __future__ import annotations

import sqlite3
from itertools import count
from typing import Any

import pytest
from sagas.settings import DEMO_PAYMENT_FAULTS

from common.ingress import Admin, Ingress, RestateHttpError
from toolkit.testing import Harness, ServiceHandle
from toolkit.waiting import wait_until

pytestmark = pytest.mark.e2e

DECLINED_CARD = "4000000000000002"
SLOW = {  # each fake API call takes half a second: a window to crash in
    "SAGAS_API_SECONDS": "0.5",
    "SAGAS_PAYMENT__DECLINE__MODE": "match",
    "SAGAS_PAYMENT__DECLINE__MATCH": f'["{DECLINED_CARD}"]',
    "SAGAS_PAYMENT__FAILURE__MODE": "off",
}
BOOKED = ["flights.reserve", "cars.reserve", "payments.charge", "flights.confirm", "cars.confirm"]
UNDONE = ["flights.reserve", "cars.reserve", "payments.refund", "cars.cancel", "flights.cancel"]


def booking(card: str = "4111111111111111") -> dict[str, Any]:
    return {
        "flights": {"flight_id": "12345", "passenger_name": "John Doe"},
        "car": {"pickup_location": "Airport", "rental_date": "2024-12-16"},
        "payment_info": {"card_number": card, "amount": 1500},
    }


def effects(service: ServiceHandle, admin: Admin, trip: str) -> list[str]:
    ids = {v for k, v in admin.state("BookingWorkflow", trip).items() if k.endswith("_id")}
    return in_steps([f"{e.api}.{e.op}" for e in service.ledger.effects() if e.key in ids or e.result in ids])


def in_steps(ops: list[str]) -> list[str]:
    """The two reservations run at once, as do the two confirms: either of a pair may land first,
    so each pair is put flight first. Everything else keeps the order it happened in."""
    steps = list(ops)
    for i in range(len(steps) - 1):
        if {steps[i], steps[i + 1]} in (
            {"flights.reserve", "cars.reserve"},
            {"flights.confirm", "cars.confirm"},
        ):
            steps[i : i + 2] = sorted(steps[i : i + 2], reverse=True)
    return steps


def started(service: ServiceHandle, api: str, op: str) -> int:
    """Attempts of ``api.op`` over all keys so far."""
    with sqlite3.connect(service.ledger_path) as db:
        row = db.execute("SELECT SUM(count) FROM attempts WHERE api=? AND op=?", (api, op)).fetchone()
    return int(row[0] or 0)


def attempts_of_booking(service: ServiceHandle, api: str, booking_id: str) -> int:
    [effect] = [e for e in service.ledger.effects(api, "reserve") if e.result == booking_id]
    return service.ledger.attempts(api, "reserve", effect.key)


def expect_declined(ingress: Ingress, trip: str) -> None:
    with pytest.raises(RestateHttpError) as failed:
        ingress.attach_workflow("BookingWorkflow", trip, timeout=60)
    assert failed.value.status == 422
    assert "declined charge" in failed.value.message


@pytest.mark.crash
def test_a_crash_of_the_service_mid_saga_books_and_undoes_each_step_once(
    harness: Harness, ingress: Ingress, admin: Admin, unique: str
) -> None:
    service = harness.service("sagas", **SLOW)
    before = started(service, "cars", "reserve")
    ingress.send("BookingWorkflow", "Run", booking(card=DECLINED_CARD), key=unique)
    wait_until(lambda: started(service, "cars", "reserve") > before, timeout=30, what="the car reservation")
    service.kill()  # in the middle of reserving the car
    service.restart()
    expect_declined(ingress, unique)
    assert effects(service, admin, unique) == UNDONE
    car_id = admin.state("BookingWorkflow", unique)["car_booking_id"]
    assert attempts_of_booking(service, "cars", car_id) == 2  # retried after the crash, reserved once


@pytest.mark.crash
def test_a_crash_of_the_server_mid_compensation_undoes_each_step_once(
    harness: Harness, ingress: Ingress, admin: Admin, unique: str
) -> None:
    service = harness.service("sagas", **SLOW)
    before = started(service, "payments", "refund")
    ingress.send("BookingWorkflow", "Run", booking(card=DECLINED_CARD), key=unique)
    wait_until(lambda: started(service, "payments", "refund") > before, timeout=30, what="the refund")
    harness.server.restart(crash=True)  # in the middle of refunding
    expect_declined(ingress, unique)
    assert effects(service, admin, unique) == UNDONE
    payment_id = admin.state("BookingWorkflow", unique)["payment_id"]
    assert service.ledger.attempts("payments", "refund", payment_id) >= 2


def predicted_charge(payment_id: str) -> tuple[str, int]:
    """What the demo's seeded policies do to a charge: the outcome and the attempt it comes at."""
    for attempt in count(1):
        if DEMO_PAYMENT_FAULTS.decline.fails(key=payment_id, attempt=attempt):
            return "declined", attempt
        if not DEMO_PAYMENT_FAULTS.failure.fails(key=payment_id, attempt=attempt):
            return "charged", attempt
    raise AssertionError("unreachable")


def test_the_demo_default_books_or_undoes_each_trip_as_its_seed_says(
    harness: Harness, ingress: Ingress, admin: Admin, unique: str
) -> None:
    service = harness.service("sagas", SAGAS_API_SECONDS="0")  # random declines and failures
    for n in range(4):
        trip = f"{unique}-{n}"
        response = ingress.raw("BookingWorkflow", "Run", booking(), key=trip, timeout=60)
        payment_id = admin.state("BookingWorkflow", trip)["payment_id"]
        outcome, attempts = predicted_charge(payment_id)
        assert service.ledger.attempts("payments", "charge", payment_id) == attempts
        if outcome == "charged":
            assert response.status_code == 200, response.text
            assert effects(service, admin, trip) == BOOKED
        else:
            assert response.status_code == 422, response.text
            assert effects(service, admin, trip) == UNDONE
