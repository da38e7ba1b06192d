"""Calling another service by name, with the request model from libs/common.

Services never import each other; they agree on a name and a model. These helpers serialize the
model (by alias, as it appears on the wire) and parse the answer back into a model.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, TypeVar

import restate
from pydantic import TypeAdapter

from common.codec import encode

T = TypeVar("T")


def send(
    ctx: restate.Context,
    service: str,
    handler: str,
    payload: Any = None,
    *,
    key: str | None = None,
    delay: timedelta | None = None,
    idempotency_key: str | None = None,
) -> restate.SendHandle:
    """One-way send: durable, returns at once; ``delay`` schedules it for later."""
    return ctx.generic_send(
        service, handler, encode(payload), key=key, send_delay=delay, idempotency_key=idempotency_key
    )


async def call(
    ctx: restate.Context,
    service: str,
    handler: str,
    payload: Any,
    result_type: type[T],
    *,
    key: str | None = None,
) -> T:
    """Request-response call; the answer is validated into ``result_type``."""
    raw = await ctx.generic_call(service, handler, encode(payload), key=key)
    return TypeAdapter(result_type).validate_json(raw)
