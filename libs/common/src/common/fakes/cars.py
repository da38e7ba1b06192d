"""A fake car rental API with two-phase reservations: reserve, then confirm or cancel.

``reserve`` holds a car and answers with the rental company's booking id, once per idempotency
key. ``confirm`` and ``cancel`` are keyed by the booking id. Only ``reserve`` can be declined
(terminal, 422; the policy's subject is the pickup location); any call can fail transiently.
"""

from __future__ import annotations

import secrets

from common.fakes.base import FakeApi


class CarRentalsApi(FakeApi):
    api = "cars"

    async def reserve(self, key: str, pickup_location: str, rental_date: str) -> str:
        request = {"pickup_location": pickup_location, "rental_date": rental_date}
        booking = await self.perform(
            "reserve", key, request, lambda: f"CAR-{secrets.token_hex(4)}", subject=pickup_location
        )
        return str(booking)

    async def confirm(self, booking_id: str) -> str:
        return str(await self.perform("confirm", booking_id, {}, lambda: "CONFIRMED", may_decline=False))

    async def cancel(self, booking_id: str) -> str:
        return str(await self.perform("cancel", booking_id, {}, lambda: "CANCELLED", may_decline=False))
