"""A fake airline booking API with two-phase reservations: reserve, then confirm or cancel.

``reserve`` holds a seat and answers with the airline's booking id; the caller's idempotency key
makes a repeated request return that same booking instead of holding a second seat. ``confirm``
and ``cancel`` are keyed by the booking id. Only ``reserve`` can be declined (terminal, 422); any
call can fail transiently when the failure policy says so.
"""

from __future__ import annotations

import secrets

from common.fakes.base import FakeApi


class FlightsApi(FakeApi):
    api = "flights"

    async def reserve(self, key: str, flight_id: str, passenger_name: str) -> str:
        request = {"flight_id": flight_id, "passenger_name": passenger_name}
        booking = await self.perform(
            "reserve", key, request, lambda: f"FL-{secrets.token_hex(4)}", subject=flight_id
        )
        return str(booking)

    async def confirm(self, booking_id: str) -> str:
        return str(await self.perform("confirm", booking_id, {}, lambda: "CONFIRMED", may_decline=False))

    async def cancel(self, booking_id: str) -> str:
        return str(await self.perform("cancel", booking_id, {}, lambda: "CANCELLED", may_decline=False))
