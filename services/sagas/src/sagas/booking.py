"""Sagas: book a flight, a car and a payment for a trip; on a terminal error, undo what was done.

Restate retries transient errors (a timeout, a crash of this process) until the step succeeds,
and recovers finished steps from the journal, so the workflow only has to handle *terminal*
errors (a declined card, no car available). Every step that changes the outside world pushes
its undo action onto a list; on a terminal error the workflow runs the list backwards, each
undo a durable step of its own that runs exactly once, then fails with the original error.

    reserve flight ─▶ reserve car ─▶ payment id ─▶ charge ─▶ confirm flight, car ─▶ done
     └ push cancel     └ push cancel   └ push refund   │ declined (terminal)
                                                       ▼
                             refund ─▶ cancel car ─▶ cancel flight ─▶ fail with the error

Two ways to register an undo: the reservations are two-phase (the provider returns a booking
id, cancel needs it), so the cancel is pushed after ``Reserve`` returns; the payment is one call
with our own id as idempotency key, so the refund is pushed *before* ``Charge``: if the charge
dies mid-call we cannot know whether it took the money, and refunding that id is always safe.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import restate

from common.calls import call
from common.fakes.payments import PaymentsApi
from common.handlers import handler
from sagas.models import BookingRequest, BookingResult

log = restate.getLogger(__name__)

Undo = Callable[[], Awaitable[object]]


def create_booking_workflow(payments: PaymentsApi) -> restate.Workflow:
    booking = restate.Workflow("BookingWorkflow")

    @handler(booking.main, name="Run")
    async def run(ctx: restate.WorkflowContext, trip: BookingRequest) -> BookingResult:
        compensations: list[Undo] = []

        async def refund(payment_id: str) -> None:
            await ctx.run_typed("refund", payments.refund, payment_id=payment_id)
            log.info("Refunded payment: %s", payment_id)

        try:
            flight_id = await call(ctx, "Flights", "Reserve", trip.flights, str)
            compensations.append(lambda: call(ctx, "Flights", "Cancel", flight_id, str))
            ctx.set("flight_booking_id", flight_id)

            car_id = await call(ctx, "CarRentals", "Reserve", trip.car, str)
            compensations.append(lambda: call(ctx, "CarRentals", "Cancel", car_id, str))
            ctx.set("car_booking_id", car_id)

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

            await call(ctx, "Flights", "Confirm", flight_id, str)
            await call(ctx, "CarRentals", "Confirm", car_id, str)
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
