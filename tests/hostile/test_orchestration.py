"""Hostile requests to the orchestration patterns: sagas (a workflow and two two-phase services)
and statefulactors (a state machine per key). Fast settings: no API latency, no injected
failures or declines, no transition time, so every example takes a fraction of a second."""

from __future__ import annotations

import pytest

from toolkit.testing import Harness

from .checker import Probe, Target
from .profile import TIMEOUT
from .suite import handler_tests

pytestmark = [pytest.mark.e2e, pytest.mark.hostile, TIMEOUT]

FLIGHT = {"flight_id": "LH123", "passenger_name": "Ann"}
CAR = {"pickup_location": "Airport", "rental_date": "2024-12-16"}
BOOKING = {"flights": FLIGHT, "car": CAR, "payment_info": {"card_number": "4111111111111111", "amount": 100}}
TARGETS = [
    Target("BookingWorkflow", "Run", BOOKING, keyed=True, tolerated=frozenset({409})),
    Target("Flights", "Reserve", FLIGHT),
    Target("Flights", "Confirm", "FL-1"),
    Target("Flights", "Cancel", "FL-1"),
    Target("CarRentals", "Reserve", CAR),
    Target("CarRentals", "Confirm", "CR-1"),
    Target("CarRentals", "Cancel", "CR-1"),
    Target("MachineOperator", "SetUp", keyed=True),
    Target("MachineOperator", "TearDown", keyed=True, prepare=(("SetUp", None),)),
]
NO_FAULTS = {
    "SAGAS_API_SECONDS": "0",
    "SAGAS_PAYMENT__DECLINE__MODE": "off",
    "SAGAS_PAYMENT__FAILURE__MODE": "off",
}


def start(harness: Harness) -> Probe:
    handles = [
        harness.service("sagas", **NO_FAULTS),
        harness.service(
            "statefulactors", STATEFULACTORS_TRANSITION_SECONDS="0", STATEFULACTORS_FAILURE__MODE="off"
        ),
    ]
    services = ("BookingWorkflow", "Flights", "CarRentals", "MachineOperator")
    return Probe(harness.ingress, harness.admin, handles, services)


@pytest.fixture
def probe(harness: Harness) -> Probe:
    return start(harness)


test_no_request_wedges_a_handler, test_no_edge_request_wedges_a_handler = handler_tests(TARGETS)
