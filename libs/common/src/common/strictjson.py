"""Reading untrusted JSON so that every fault of the input is found before a handler runs.

Python's ``json`` module accepts more than a durable handler can live with: ``NaN`` and
``Infinity``, ``1e999`` (read as infinity), integers of thousands of digits, lone surrogates
(``"\\ud800"``, which no UTF-8 encoder will write back), and nesting deep enough to exhaust the
recursion limit. Each of those would pass validation and fail later, after the effects, when a
result or a state is serialized, and the failure would be retried forever. ``read`` refuses them
all with an ``InputError`` naming where in the body the fault sits; ``check_validated`` does the
same for a validated value (pydantic's lax mode turns the string ``"1e999"`` into infinity).

    bytes --size, UTF-8--> json.loads --walk--> value
          every string and key valid Unicode, every number finite and under 31 digits,
          nesting within MAX_DEPTH; each fault reported with its path (``data.object.id``)
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

MAX_BODY_BYTES = 1024 * 1024  # a request body, and a Kafka record value
MAX_DEPTH = 64  # nested arrays and objects; Stripe's events use under ten levels
MAX_INTEGER_DIGITS = 30  # beyond any count, amount or epoch time this catalogue takes
MAX_KEY_BYTES = 4096  # of a virtual object's or workflow's key, UTF-8 (the ingress takes 64 KiB URLs)
_INTEGER_BOUND = 10**MAX_INTEGER_DIGITS


class InputError(ValueError):
    """The input is unusable whatever the state of the world: a 4xx, never a retry."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class _LongInteger:
    """An integer literal too long to read; refused with its place by the walk."""

    digits: int


def _integer(text: str) -> int | _LongInteger:
    digits = len(text.lstrip("-"))
    return _LongInteger(digits) if digits > MAX_INTEGER_DIGITS else int(text)


def check_key(key: str) -> str:
    """``key`` if it fits ``MAX_KEY_BYTES``; else an ``InputError``."""
    size = len(key.encode("utf-8", "surrogatepass"))
    if size > MAX_KEY_BYTES:
        raise InputError(f"key of {size} bytes, longer than {MAX_KEY_BYTES}")
    return key


def where(path: tuple[Any, ...]) -> str:
    """``("data", "object", 3)`` -> ``"data.object.3"``; the empty path is the body itself."""
    parts = [str(p).encode("utf-8", "backslashreplace").decode() for p in path]
    if len(parts) > 8:
        parts = [*parts[:4], "…", *parts[-3:]]
    return ".".join(parts) or "body"


def valid_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _walk(value: Any, path: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every value below ``value`` with its path, refusing nesting deeper than MAX_DEPTH."""
    stack = [(path, value)]
    while stack:
        here, item = stack.pop()
        if isinstance(item, dict | list | tuple) and len(here) - len(path) >= MAX_DEPTH:
            raise InputError(f"{where(here)}: nested deeper than {MAX_DEPTH} levels")
        yield here, item
        if isinstance(item, dict):
            stack.extend(((*here, k), v) for k, v in item.items())
            yield from (((*here, k), k) for k in item if isinstance(k, str))
        elif isinstance(item, list | tuple):
            stack.extend(((*here, i), v) for i, v in enumerate(item))


def check_parsed(value: Any, path: tuple[Any, ...] = ()) -> None:
    """Refuse what ``json.loads`` let through: bad strings and keys, non-finite and long numbers."""
    for here, item in _walk(value, path):
        if isinstance(item, str) and not valid_unicode(item):
            raise InputError(f"{where(here)}: not valid Unicode (a lone surrogate such as \\ud800)")
        if isinstance(item, float) and not math.isfinite(item):
            raise InputError(f"{where(here)}: non-finite numbers (NaN, Infinity, 1e999) are not accepted")
        if isinstance(item, _LongInteger):
            raise InputError(f"{where(here)}: {item.digits} digits, more than {MAX_INTEGER_DIGITS}")


def read(buf: bytes) -> Any:
    """The JSON value of ``buf``, or an ``InputError`` that says what is wrong and where."""
    if len(buf) > MAX_BODY_BYTES:
        raise InputError(f"body of {len(buf)} bytes is larger than {MAX_BODY_BYTES} bytes", status=413)
    try:
        text = buf.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError(f"body is not UTF-8: {error}") from None
    try:
        value = json.loads(text, parse_int=_integer)
    except json.JSONDecodeError as error:
        raise InputError(f"body is not valid JSON: {error}") from None
    except RecursionError:
        raise InputError(f"body: nested deeper than {MAX_DEPTH} levels") from None
    check_parsed(value)
    return value


def _allows_infinity(field: Any) -> bool:
    return any(getattr(meta, "allow_inf_nan", None) is True for meta in field.metadata)


def check_validated(value: Any, path: tuple[Any, ...] = ()) -> None:
    """Refuse a non-finite float or an overlong integer anywhere in a validated value.

    A model field may opt out by declaring ``Field(allow_inf_nan=True)``, for a documented
    "no limit" that it turns into infinity itself.
    """
    stack = [(path, value)]
    while stack:
        here, item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            raise InputError(f"{where(here)}: non-finite numbers (NaN, Infinity, 1e999) are not accepted")
        if isinstance(item, int) and abs(item) >= _INTEGER_BOUND:
            raise InputError(f"{where(here)}: more than {MAX_INTEGER_DIGITS} digits")
        if isinstance(item, BaseModel):
            fields = type(item).model_fields
            stack.extend(
                ((*here, field.alias or name), getattr(item, name))
                for name, field in fields.items()
                if not _allows_infinity(field)
            )
        elif isinstance(item, dict):
            stack.extend(((*here, k), v) for k, v in item.items())
        elif isinstance(item, list | tuple | set | frozenset):
            stack.extend(((*here, i), v) for i, v in enumerate(item))
