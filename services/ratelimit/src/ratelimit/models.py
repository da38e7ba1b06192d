"""The limiter's wire format, and the bounds of every number a caller may send.

- Times are RFC 3339 strings in UTC with microseconds (``"2025-01-01T12:00:00.250000Z"``), the
  form Go's ``time.Time`` uses too; ``null`` where there is no time yet (a new limiter) or none
  applies (a refused reservation).
- Durations (``maxFutureReserve``) are seconds, a number; ``null`` means "as long as the limiter
  grants at all", ``MAX_WAIT_SECONDS``.
- ``limit`` is events per second: ``0`` (no refill: only the tokens already in the bucket), a
  number in [``MIN_LIMIT``, ``MAX_LIMIT``], or the string ``"inf"`` for "no limit" (JSON has no
  Infinity). A limiter that was never configured has limit 0 and burst 0 and refuses everything.

Every bound is checked when the request is read, so a bad number is a 400 naming the field
before the handler reads the clock or the state. ``LimiterState`` is what is stored, and may
predate the bounds: it is read as it is and ``bucket`` brings it within them.
"""

from __future__ import annotations

import math
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field, PlainSerializer

from common.models.wire import CamelModel

INF = math.inf
MAX_WAIT_SECONDS = 366 * 24 * 3600  # a (leap) year: the longest wait a reservation asks for or gets
MAX_TOKENS = 1_000_000_000  # burst, n, tokens of a reservation: counts stay exact in a float
MIN_LIMIT = 1 / MAX_WAIT_SECONDS  # one token per MAX_WAIT: any slower and no wait could be granted
MAX_LIMIT = 1_000_000.0  # one token per microsecond, the resolution of the times; above: "inf"


def _parse_limit(value: object) -> object:
    if isinstance(value, str) and value.strip().lower() in ("inf", "infinity"):
        return INF
    return value


def _within_limits(value: float | None) -> float | None:
    if value is None or value == 0 or math.isinf(value) or MIN_LIMIT <= value <= MAX_LIMIT:
        return value
    raise ValueError(
        f'must be 0, between {MIN_LIMIT:.6g} and {MAX_LIMIT:g} events per second, or "inf" for no limit'
    )


def _dump_number(value: float | None) -> float | int | str | None:
    if value is None:
        return None
    if math.isinf(value):
        return "inf"
    return int(value) if value.is_integer() else value


# Infinity is a legal limit ("inf"), so these fields opt out of the generic non-finite check.
_LIMIT = Field(ge=0, allow_inf_nan=True, description='events per second, or "inf" for no limit')
_AS_WIRE = PlainSerializer(_dump_number, return_type=float | int | str | None)

# A limit a caller may send (``SetRate``, a reservation handed back to ``CancelReservation``).
Limit = Annotated[float, _LIMIT, BeforeValidator(_parse_limit), AfterValidator(_within_limits), _AS_WIRE]
OptionalLimit = Annotated[
    float | None, _LIMIT, BeforeValidator(_parse_limit), AfterValidator(_within_limits), _AS_WIRE
]
# A limit as stored: whatever any version wrote (>= 0 or "inf"); ``bucket.bounded`` clamps it.
StoredLimit = Annotated[float, _LIMIT, BeforeValidator(_parse_limit), _AS_WIRE]
Tokens = Annotated[int, Field(ge=0, le=MAX_TOKENS)]
Wait = Annotated[float, Field(ge=0, le=MAX_WAIT_SECONDS, allow_inf_nan=False)]


class LimiterState(CamelModel):
    limit: StoredLimit = 0.0
    burst: int = Field(0, ge=0, description="bucket size: the most tokens one reservation can take")
    tokens: float = Field(
        0.0, allow_inf_nan=False, description="tokens at `last`; negative while reservations wait"
    )
    last: AwareDatetime | None = Field(None, description="when `tokens` was last brought up to date")
    last_event: AwareDatetime | None = Field(None, description="latest time to act handed out")


class ReserveRequest(CamelModel):
    n: Tokens = Field(description=f"tokens to take, at most {MAX_TOKENS}")
    max_future_reserve: Wait | None = Field(
        description=f"the longest acceptable wait in seconds, at most {MAX_WAIT_SECONDS}; null: that"
    )


class Reservation(CamelModel):
    ok: bool
    tokens: Tokens
    creation_time: AwareDatetime
    time_to_act: AwareDatetime | None = Field(description="when the tokens are yours; null if refused")
    limit: Limit = Field(description="the limit when the reservation was made")


class SetRateRequest(CamelModel):
    limit: OptionalLimit = None
    burst: Tokens | None = None


class BatchRequest(CamelModel):
    size: int = Field(ge=1, le=MAX_TOKENS, description="items in the batch; each costs one token")


class TaskResult(CamelModel):
    reserved_at: AwareDatetime = Field(description="when the limiter took the reservation")
    granted_at: AwareDatetime = Field(description="the time to act the limiter decided")
    started_at: AwareDatetime = Field(description="when the work started (recorded by its durable step)")
    tokens: int
