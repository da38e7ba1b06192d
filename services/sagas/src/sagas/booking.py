"""Sagas: book a flight, a car and a payment for a trip; on a terminal error, undo what was done.

Restate retries transient errors (a timeout, a crash of this process) until the step succeeds,
and recovers finished steps from the journal, so the workflow only has to handle *terminal*
errors (a declined card, no car available). Every step that changes the outside world pushes
its undo action onto a list; on a terminal error the workflow runs the list backwards, each
undo a durable step of its own that runs exactly once, then fails with the original error.

    reserve flight ┐                                     ┌ confirm flight ┐
                   ├─▶ payment id ─▶ charge ─────────────┤                ├─▶ done
    reserve car    ┘    └ push refund   │ declined       └ confirm car    ┘
     (each success pushes its cancel)   ▼ (terminal)
                             refund ─▶ cancel car ─▶ cancel flight ─▶ fail with the error

The flight and the car do not depend on each other, so both are reserved at once, and both
confirmed at once: the saga takes two provider round trips there instead of four. Their
cancels are still pushed flight first, so they are undone car first, in reverse.

Two ways to register an undo: the reservations are two-phase (the provider returns a booking
id, cancel needs it), so the cancel is pushed after ``Reserve`` returns; the payment is one call
with our own id as idempotency key, so the refund is pushed *before* ``Charge``: if the charge
dies mid-call we cannot know whether it took the money, and refunding that id is always safe.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import restate
from pydantic import TypeAdapter

from common.calls import call
from common.codec import encode
from common.fakes.payments import PaymentsApi
from common.handlers import handler
from sagas.models import BookingRequest, BookingResult

log = restate.getLogger(__name__)

Undo = Callable[[], Awaitable[object]]


async def _outcome(reservation: restate.RestateDurableCallFuture[bytes]) -> str | restate.TerminalError:
    """The booking id a reservation returned, or the terminal error it ended with."""
    try:
        return TypeAdapter(str).validate_json(await reservation)
    except restate.TerminalError as error:
        return error


def create_booking_workflow(payments: PaymentsApi) -> restate.Workflow:
    booking = restate.Workflow("BookingWorkflow")

    @handler(booking.main, name="Run")
    async def run(ctx: restate.WorkflowContext, trip: BookingRequest) -> BookingResult:
        compensations: list[Undo] = []

        async def refund(payment_id: str) -> None:
            await ctx.run_typed("refund", payments.refund, payment_id=payment_id)
            log.info("Refunded payment: %s", payment_id)

        try:
            # Both calls start before either is awaited; each outcome is read in a fixed order,
            # so a replay takes the same path. A reservation that went through is undone even
            # when the other one was declined.
            flight_call = ctx.generic_call("Flights", "Reserve", encode(trip.flights))
            car_call = ctx.generic_call("CarRentals", "Reserve", encode(trip.car))
            flight = await _outcome(flight_call)
            car = await _outcome(car_call)
            if isinstance(flight, str):
                flight_id = flight
                compensations.append(lambda: call(ctx, "Flights", "Cancel", flight_id, str))
                ctx.set("flight_booking_id", flight_id)
            if isinstance(car, str):
                car_id = car
                compensations.append(lambda: call(ctx, "CarRentals", "Cancel", car_id, str))
                ctx.set("car_booking_id", car_id)
            for declined in (flight, car):
                if isinstance(declined, restate.TerminalError):
                    raise declined

            payment_id = str(ctx.uuid())  # the idempotency key of the charge, drawn before it
            compensations.append(lambda: refund(payment_id))
            ctx.set("payment_id", payment_id)
            try:
                await ctx.run_typed(
                    "charge",
                    payments.charge,
                    payment_id=payment_id,
                    card_number=trip.payment_info.card_number,
                    amount=trip.payment_info.amount,
                )
            except restate.TerminalError:
                log.error("This payment should never be accepted! Aborting booking.")
                raise

            confirms = [
                ctx.generic_call("Flights", "Confirm", encode(flight_id)),
                ctx.generic_call("CarRentals", "Confirm", encode(car_id)),
            ]
            for confirm in confirms:  # both are under way: this waits for the slower one
                await confirm
        except restate.TerminalError:
            for undo in reversed(compensations):
                await undo()
            ctx.set("status", "CANCELLED")
            raise
        ctx.set("status", "BOOKED")
        return BookingResult(
            trip_id=ctx.key(), flight_booking_id=flight_id, car_booking_id=car_id, payment_id=payment_id
        )

    return booking
