"""The one way this catalogue writes a request or result as JSON.

Every place that encodes a body uses ``encode``: calls between services (``common.calls``),
the handlers' output (``common.handlers.StrictSerde``), the ingress client (``common.ingress``)
and, through it, the benchmark. Models are written by alias (camelCase where the wire wants it);
``None`` is no body at all, the form a handler without input requires. Reading goes through
``common.strictjson``, which refuses what this never writes (non-finite numbers, lone surrogates).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, TypeAdapter


def encode(payload: Any, adapter: TypeAdapter[Any] | None = None) -> bytes:
    """``payload`` as JSON bytes; ``adapter`` writes a typed value (dates, models in lists)."""
    if payload is None:
        return b""
    if isinstance(payload, BaseModel):
        return payload.model_dump_json(by_alias=True).encode()
    if adapter is not None:
        return adapter.dump_json(payload, by_alias=True)
    return json.dumps(payload, allow_nan=False).encode()
