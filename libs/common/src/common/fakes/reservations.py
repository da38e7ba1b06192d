"""The two-phase shape shared by the travel providers: reserve, then confirm or cancel.

``reserve`` (in each provider) holds something once per idempotency key and answers with the
provider's booking id. ``confirm`` and ``cancel`` are keyed by that booking id and are never
declined: a provider that took a reservation must let it be confirmed or released. Any call can
still fail transiently when the failure policy says so.
"""

from __future__ import annotations

from common.fakes.base import FakeApi


class ReservationApi(FakeApi):
    async def confirm(self, booking_id: str) -> str:
        return str(await self.perform("confirm", booking_id, {}, lambda: "CONFIRMED", may_decline=False))

    async def cancel(self, booking_id: str) -> str:
        return str(await self.perform("cancel", booking_id, {}, lambda: "CANCELLED", may_decline=False))
