"""A fake car rental API: ``reserve`` holds a car (declinable; the policy's subject is the pickup
location), then ``confirm`` or ``cancel`` it (see ``reservations``)."""

from __future__ import annotations

import secrets

from common.fakes.reservations import ReservationApi


class CarRentalsApi(ReservationApi):
    api = "cars"

    async def reserve(self, key: str, pickup_location: str, rental_date: str) -> str:
        request = {"pickup_location": pickup_location, "rental_date": rental_date}
        booking = await self.perform(
            "reserve", key, request, lambda: f"CAR-{secrets.token_hex(4)}", subject=pickup_location
        )
        return str(booking)
