"""A fake airline API: ``reserve`` holds a seat (declinable; the policy's subject is the flight
id), then ``confirm`` or ``cancel`` it (see ``reservations``)."""

from __future__ import annotations

import secrets

from common.fakes.reservations import ReservationApi


class FlightsApi(ReservationApi):
    api = "flights"

    async def reserve(self, key: str, flight_id: str, passenger_name: str) -> str:
        request = {"flight_id": flight_id, "passenger_name": passenger_name}
        booking = await self.perform(
            "reserve", key, request, lambda: f"FL-{secrets.token_hex(4)}", subject=flight_id
        )
        return str(booking)
