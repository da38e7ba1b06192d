"""The sagas member: ``BookingWorkflow`` and the two reservation services it calls by name."""

from __future__ import annotations

import restate

from common.fakes import Ledger
from common.fakes.cars import CarRentalsApi
from common.fakes.flights import FlightsApi
from common.fakes.payments import PaymentsApi
from sagas.booking import create_booking_workflow
from sagas.reservations import create_car_rentals, create_flights
from sagas.settings import Settings


def create_services(settings: Settings) -> list[restate.Service | restate.Workflow]:
    ledger = Ledger(settings.fakes_db)
    latency = settings.api_seconds
    flights = FlightsApi(
        ledger, decline=settings.flights.decline, failure=settings.flights.failure, latency=latency
    )
    cars = CarRentalsApi(
        ledger, decline=settings.cars.decline, failure=settings.cars.failure, latency=latency
    )
    payments = PaymentsApi(
        ledger, decline=settings.payment.decline, failure=settings.payment.failure, latency=latency
    )
    return [create_booking_workflow(payments), create_flights(flights), create_car_rentals(cars)]
