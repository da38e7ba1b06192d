"""A fake card payment API that takes the caller's payment id as idempotency key.

``charge`` takes the money in one call: it is declined (terminal, 422; the policy's subject is
the card number), fails transiently, or succeeds, once per payment id; the failure policies
apply to charges only. ``refund`` may be called for a payment id that was never charged (the
caller could not tell whether a failed charge went through): it then refunds nothing, and says so.
"""

from __future__ import annotations

from common.fakes.base import FakeApi


class PaymentsApi(FakeApi):
    api = "payments"

    async def charge(self, payment_id: str, card_number: str, amount: float) -> str:
        request = {"card": f"…{card_number[-4:]}", "amount": amount}
        return str(await self.perform("charge", payment_id, request, lambda: "CHARGED", subject=card_number))

    async def refund(self, payment_id: str) -> str:
        def outcome() -> str:
            return "REFUNDED" if self.ledger.find(self.api, "charge", payment_id) else "NOTHING_CHARGED"

        return str(await self.perform("refund", payment_id, {}, outcome, may_decline=False, may_fail=False))
