"""Durable RPC, idempotency and per-key concurrency.

``ProductService`` is a virtual object keyed by product id. Restate runs at most one ``Reserve``
per product at a time, so check-then-set on the ``reserved`` state is race free. Callers pass
an idempotency key (the reservation id): a retried request gets the first answer back, stored
by Restate, and the handler does not run again.

    client --(Reserve, idempotency-key=reservation)--> Restate --> ProductService/<product>
                                                          |   one at a time per product
                                    stored answer  <------+   for a repeated key
"""

from __future__ import annotations

import restate

from common.handlers import handler
from durablerpc.settings import Settings

log = restate.getLogger(__name__)


def create_services(settings: Settings) -> list[restate.VirtualObject]:
    product_service = restate.VirtualObject("ProductService")

    @handler(product_service.handler, name="Reserve")
    async def reserve(ctx: restate.ObjectContext) -> bool:
        if await ctx.get("reserved", type_hint=bool):
            log.info("Product %s was already reserved", ctx.key())
            return False
        ctx.set("reserved", True)
        log.info("Product %s reserved", ctx.key())
        return True

    return [product_service]
