"""BookingWorkflow against a real Restate server: success, compensations, retries, bad input."""

from __future__ import annotations

import json
from typing import Any

import pytest

from common.ingress import Admin, Ingress, RestateHttpError
from toolkit.testing import Harness, ServiceHandle

pytestmark = pytest.mark.e2e

DECLINED_CARD = "4000000000000002"
NO_CARS_AT = "Atlantis"
FULL_FLIGHT = "LH-FULL"
BASE = {  # deterministic failures instead of the random demo default, no API latency
    "SAGAS_API_SECONDS": "0",
    "SAGAS_PAYMENT__DECLINE__MODE": "match",
    "SAGAS_PAYMENT__DECLINE__MATCH": json.dumps([DECLINED_CARD]),
    "SAGAS_PAYMENT__FAILURE__MODE": "off",
    "SAGAS_CARS__DECLINE__MODE": "match",
    "SAGAS_CARS__DECLINE__MATCH": json.dumps([NO_CARS_AT]),
    "SAGAS_FLIGHTS__DECLINE__MODE": "match",
    "SAGAS_FLIGHTS__DECLINE__MATCH": json.dumps([FULL_FLIGHT]),
}
BOOKED = ["flights.reserve", "cars.reserve", "payments.charge", "flights.confirm", "cars.confirm"]


def booking(
    card: str = "4111111111111111", location: str = "Airport", flight: str = "12345"
) -> dict[str, Any]:
    """The seed's request body."""
    return {
        "flights": {"flight_id": flight, "passenger_name": "John Doe"},
        "car": {"pickup_location": location, "rental_date": "2024-12-16"},
        "payment_info": {"card_number": card, "amount": 1500},
    }


def effects(service: ServiceHandle, admin: Admin, trip: str) -> list[str]:
    """``api.op`` of the trip's effects in the order the outside world saw them (ids from its state)."""
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


def run(ingress: Ingress, trip: str, body: object) -> Any:
    return ingress.call("BookingWorkflow", "Run", body, key=trip, timeout=60)


def test_a_booking_reserves_charges_and_confirms(
    harness: Harness, ingress: Ingress, admin: Admin, unique: str
):
    service = harness.service("sagas", **BASE)
    result = run(ingress, unique, booking())
    assert result["trip_id"] == unique
    assert result["flight_booking_id"].startswith("FL-") and result["car_booking_id"].startswith("CAR-")
    assert admin.state("BookingWorkflow", unique)["status"] == "BOOKED"
    assert effects(service, admin, unique) == BOOKED
    assert ingress.attach_workflow("BookingWorkflow", unique) == result
    # The workflow runs once per trip id: a second Run is refused and books nothing.
    with pytest.raises(RestateHttpError) as again:
        run(ingress, unique, booking())
    assert again.value.status == 409
    assert effects(service, admin, unique) == BOOKED


def test_a_declined_payment_undoes_everything_in_reverse_order(
    harness: Harness, ingress: Ingress, admin: Admin, unique: str
) -> None:
    service = harness.service("sagas", **BASE)
    with pytest.raises(RestateHttpError) as failed:
        run(ingress, unique, booking(card=DECLINED_CARD))
    assert failed.value.status == 422
    assert "declined charge" in failed.value.message
    state = admin.state("BookingWorkflow", unique)
    assert state["status"] == "CANCELLED"
    assert effects(service, admin, unique) == [
        "flights.reserve", "cars.reserve", "payments.refund", "cars.cancel", "flights.cancel",
    ]  # fmt: skip
    [refund] = [e for e in service.ledger.effects("payments", "refund") if e.key == state["payment_id"]]
    assert refund.result == "NOTHING_CHARGED"
    # Attaching later gives the same original error, not a success and not a new run.
    with pytest.raises(RestateHttpError) as attached:
        ingress.attach_workflow("BookingWorkflow", unique)
    assert (attached.value.status, attached.value.message) == (422, failed.value.message)
    log = service.process.log_path.read_text()
    for line in (
        f"Flight reserved: {state['flight_booking_id']}",
        f"Car reserved: {state['car_booking_id']}",
        "This payment should never be accepted! Aborting booking.",
        f"Refunded payment: {state['payment_id']}",
        f"Car cancelled: {state['car_booking_id']}",
        f"Flight cancelled: {state['flight_booking_id']}",
    ):
        assert log.count(line) == 1, line


def test_a_declined_car_cancels_only_the_flight(
    harness: Harness, ingress: Ingress, admin: Admin, unique: str
) -> None:
    service = harness.service("sagas", **BASE)
    with pytest.raises(RestateHttpError) as failed:
        run(ingress, unique, booking(location=NO_CARS_AT))
    assert failed.value.status == 422
    assert "cars declined reserve" in failed.value.message
    assert set(admin.state("BookingWorkflow", unique)) == {"flight_booking_id", "status"}
    assert effects(service, admin, unique) == ["flights.reserve", "flights.cancel"]
    assert not [e for e in service.ledger.effects("cars") if e.request.get("pickup_location") == NO_CARS_AT]


def test_a_declined_flight_cancels_the_car_reserved_at_the_same_time(
    harness: Harness, ingress: Ingress, admin: Admin, unique: str
) -> None:
    service = harness.service("sagas", **BASE)
    with pytest.raises(RestateHttpError) as failed:
        run(ingress, unique, booking(flight=FULL_FLIGHT))
    assert failed.value.status == 422
    assert "flights declined reserve" in failed.value.message
    assert set(admin.state("BookingWorkflow", unique)) == {"car_booking_id", "status"}
    assert effects(service, admin, unique) == ["cars.reserve", "cars.cancel"]


def test_transient_failures_are_retried_and_never_compensate(
    harness: Harness, ingress: Ingress, admin: Admin, unique: str
) -> None:
    flaky = {
        "SAGAS_PAYMENT__FAILURE__MODE": "first",
        "SAGAS_PAYMENT__FAILURE__FIRST": "2",
        "SAGAS_CARS__FAILURE__MODE": "first",
        "SAGAS_CARS__FAILURE__FIRST": "1",
    }
    service = harness.service("sagas", **{**BASE, **flaky})
    result = run(ingress, unique, booking())
    assert effects(service, admin, unique) == BOOKED
    assert service.ledger.attempts("payments", "charge", result["payment_id"]) == 3
    assert service.ledger.attempts("cars", "confirm", result["car_booking_id"]) == 2
    [car] = [e for e in service.ledger.effects("cars", "reserve") if e.result == result["car_booking_id"]]
    assert service.ledger.attempts("cars", "reserve", car.key) == 2


@pytest.mark.parametrize(
    ("body", "names"),
    [
        (b'{"flights": ', "not valid JSON"),
        (b"", "Empty body"),
        ({**booking(), "car": None}, "car"),
        ({k: v for k, v in booking().items() if k != "payment_info"}, "payment_info: Field required"),
        ({**booking(), "payment_info": {"card_number": "4111111111111111", "amount": "lots"}}, "amount"),
        ({**booking(), "payment_info": {"card_number": "visa", "amount": 10}}, "card_number"),
        ({**booking(), "car": {"pickup_location": "Airport", "rental_date": "soon"}}, "car.rental_date"),
        ({**booking(), "hotel": {}}, "hotel"),
    ],
)
def test_bad_input_is_a_400_naming_the_problem_and_books_nothing(
    harness: Harness, ingress: Ingress, admin: Admin, unique: str, body: object, names: str
) -> None:
    service = harness.service("sagas", **BASE)
    before = len(service.ledger.effects())
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = ingress.raw("BookingWorkflow", "Run", payload, key=unique, timeout=10)
    assert response.status_code == 400, response.text
    assert names in response.json()["message"]
    assert admin.state("BookingWorkflow", unique) == {}
    assert len(service.ledger.effects()) == before


def test_the_reservation_services_reject_bad_input_too(harness: Harness, ingress: Ingress) -> None:
    harness.service("sagas", **BASE)
    assert ingress.raw("Flights", "Reserve", {"flight_id": "1"}, timeout=10).status_code == 400
    assert ingress.raw("CarRentals", "Cancel", {"id": "CAR-1"}, timeout=10).status_code == 400
