"""``Flights`` and ``CarRentals``: two-phase reservations in front of an airline and a car rental API.

``Reserve`` holds a seat or a car and returns the provider's booking id; nothing is final until
``Confirm``. ``Cancel`` releases it: it is the compensation the booking workflow registers once
it has a booking id. Each provider call is a durable step with an idempotency key (a uuid drawn
from ``ctx`` for ``Reserve``, the booking id for the others), so a retried or replayed step never
books, confirms or cancels twice.
"""

from __future__ import annotations

import restate

from common.fakes.cars import CarRentalsApi
from common.fakes.flights import FlightsApi
from common.handlers import handler
from sagas.models import CarRentalRequest, FlightRequest

log = restate.getLogger(__name__)


def create_flights(api: FlightsApi) -> restate.Service:
    flights = restate.Service("Flights")

    @handler(flights.handler, name="Reserve")
    async def reserve(ctx: restate.Context, request: FlightRequest) -> str:
        booking_id = await ctx.run_typed(
            "reserve-flight",
            api.reserve,
            key=str(ctx.uuid()),
            flight_id=request.flight_id,
            passenger_name=request.passenger_name,
        )
        log.info("Flight reserved: %s", booking_id)
        return booking_id

    @handler(flights.handler, name="Confirm")
    async def confirm(ctx: restate.Context, booking_id: str) -> str:
        status = await ctx.run_typed("confirm-flight", api.confirm, booking_id=booking_id)
        log.info("Flight confirmed: %s", booking_id)
        return status

    @handler(flights.handler, name="Cancel")
    async def cancel(ctx: restate.Context, booking_id: str) -> str:
        status = await ctx.run_typed("cancel-flight", api.cancel, booking_id=booking_id)
        log.info("Flight cancelled: %s", booking_id)
        return status

    return flights


def create_car_rentals(api: CarRentalsApi) -> restate.Service:
    car_rentals = restate.Service("CarRentals")

    @handler(car_rentals.handler, name="Reserve")
    async def reserve(ctx: restate.Context, request: CarRentalRequest) -> str:
        booking_id = await ctx.run_typed(
            "reserve-car",
            api.reserve,
            key=str(ctx.uuid()),
            pickup_location=request.pickup_location,
            rental_date=request.rental_date.isoformat(),
        )
        log.info("Car reserved: %s", booking_id)
        return booking_id

    @handler(car_rentals.handler, name="Confirm")
    async def confirm(ctx: restate.Context, booking_id: str) -> str:
        status = await ctx.run_typed("confirm-car", api.confirm, booking_id=booking_id)
        log.info("Car confirmed: %s", booking_id)
        return status

    @handler(car_rentals.handler, name="Cancel")
    async def cancel(ctx: restate.Context, booking_id: str) -> str:
        status = await ctx.run_typed("cancel-car", api.cancel, booking_id=booking_id)
        log.info("Car cancelled: %s", booking_id)
        return status

    return car_rentals
