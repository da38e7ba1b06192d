"""The limiter's wire format.

- Times are RFC 3339 strings in UTC with microseconds (``"2025-01-01T12:00:00.250000Z"``), the
  form Go's ``time.Time`` uses too; ``null`` where there is no time yet (a new limiter) or none
  applies (a refused reservation).
- Durations (``maxFutureReserve``) are seconds, a number; ``null`` means "no bound".
- ``limit`` is events per second: a number >= 0, or the string ``"inf"`` for "no limit" (JSON has
  no Infinity). ``0`` allows only the tokens already in the bucket; a limiter that was never
  configured has limit 0 and burst 0 and so refuses everything.
"""

from __future__ import annotations

import math
from typing import Annotated

from pydantic import AwareDatetime, BeforeValidator, Field, PlainSerializer

from common.models.wire import CamelModel

INF = math.inf


def _parse_limit(value: object) -> object:
    if isinstance(value, str) and value.strip().lower() in ("inf", "infinity"):
        return INF
    return value


def _dump_number(value: float) -> float | int | str:
    if math.isinf(value):
        return "inf"
    return int(value) if value.is_integer() else value


Limit = Annotated[
    float,
    BeforeValidator(_parse_limit),
    Field(ge=0, description='events per second, or "inf" for no limit'),
    PlainSerializer(_dump_number, return_type=float | int | str),
]


class LimiterState(CamelModel):
    limit: Limit = 0.0
    burst: int = Field(0, ge=0, description="bucket size: the most tokens one reservation can take")
    tokens: float = Field(0.0, description="tokens at `last`; negative while reservations wait")
    last: AwareDatetime | None = Field(None, description="when `tokens` was last brought up to date")
    last_event: AwareDatetime | None = Field(None, description="latest time to act handed out")


class ReserveRequest(CamelModel):
    n: int = Field(ge=0, description="tokens to take")
    max_future_reserve: Annotated[float, Field(ge=0)] | None = Field(
        description="the longest acceptable wait in seconds; null: no bound"
    )


class Reservation(CamelModel):
    ok: bool
    tokens: int = Field(ge=0)
    creation_time: AwareDatetime
    time_to_act: AwareDatetime | None = Field(description="when the tokens are yours; null if refused")
    limit: Limit = Field(description="the limit when the reservation was made")


class SetRateRequest(CamelModel):
    limit: Limit | None = None
    burst: int | None = Field(None, ge=0)


class BatchRequest(CamelModel):
    size: int = Field(ge=1, description="items in the batch; each costs one token")


class TaskResult(CamelModel):
    reserved_at: AwareDatetime = Field(description="when the limiter took the reservation")
    granted_at: AwareDatetime = Field(description="the time to act the limiter decided")
    started_at: AwareDatetime = Field(description="when the work started (durable clock read)")
    tokens: int
