"""Handlers that reject bad input with a 4xx naming the field, instead of retrying forever.

The SDK turns an input that fails to parse into a terminal error with status 500, and hands a
handler ``None`` for an empty body. ``handler`` registers a function with an input serde that
never raises: it yields the validated model or an ``InvalidInput`` that the wrapper turns into
``TerminalError(..., 400)`` (413 for an oversized body) before the function runs. What is
refused besides a body that does not validate (``common.strictjson``): non-finite numbers,
integers of more than 30 digits, strings that are not valid Unicode, nesting deeper than 64 levels,
bodies over 1 MiB, and object or workflow keys over 4 KiB. So everything that depends on the
input alone is decided before the first durable step, and a result built from the input can
always be serialized. The wrapper also puts the invocation id and object key into every log
record of the invocation.

    @handler(worker.handler, name="RunTask")
    async def run_task(ctx: restate.Context, task: TaskOpts) -> Result: ...

``before=check`` awaits ``check(ctx)`` ahead of input validation, e.g. to authenticate the raw
request (``ctx.request().headers`` / ``.body``) before its content is looked at.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import restate
from pydantic import TypeAdapter, ValidationError
from restate.serde import Serde

from common import logs, strictjson
from common.codec import encode

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])

MAX_KEY_BYTES = strictjson.MAX_KEY_BYTES


@dataclass(frozen=True)
class InvalidInput:
    message: str
    status: int = 400


def describe_validation_error(error: ValidationError) -> str:
    """``'field.sub: message; other: message'``, the way a caller wants to read it."""
    parts = []
    for item in error.errors(include_url=False):
        where = ".".join(str(p) for p in item["loc"]) or "body"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


class StrictSerde(Serde[Any]):
    """Validates JSON input against a type; bad input becomes ``InvalidInput``, never an exception."""

    def __init__(self, annotation: Any) -> None:
        self.annotation = annotation
        self.adapter: TypeAdapter[Any] = TypeAdapter(annotation)

    def deserialize(self, buf: bytes) -> Any:
        if not buf:
            return InvalidInput("request body is empty: expected JSON input")
        try:
            value = self.adapter.validate_python(strictjson.read(buf))
            strictjson.check_validated(value)
        except strictjson.InputError as error:
            return InvalidInput(f"invalid input: {error}", error.status)
        except ValidationError as error:
            return InvalidInput(f"invalid input: {describe_validation_error(error)}")
        return value

    def serialize(self, obj: Any) -> bytes:
        return encode(obj, self.adapter)


def object_key(ctx: Any) -> str | None:
    """The key of a virtual object's or workflow's invocation; ``None`` for a plain service."""
    key = getattr(ctx, "key", None)
    return key() if callable(key) else None


def check_key(key: str | None) -> InvalidInput | None:
    """A key longer than ``MAX_KEY_BYTES`` is refused (the ingress itself takes up to 64 KiB)."""
    try:
        if key is not None:
            strictjson.check_key(key)
    except strictjson.InputError as error:
        return InvalidInput(f"invalid {error}", error.status)
    return None


def _bind_log_context(ctx: Any) -> None:
    logs.invocation_id.set(ctx.request().id)
    logs.object_key.set(object_key(ctx))


def handler(
    register: Callable[..., Callable[[F], F]],
    /,
    *,
    before: Callable[[Any], Awaitable[None]] | None = None,
    keys_checked: bool = True,
    **options: Any,
) -> Callable[[F], F]:
    """Register ``fn`` with ``register`` (``svc.handler``, ``obj.handler``, ``wf.main`` ...).

    ``keys_checked=False`` leaves the key check to ``fn`` (a Kafka handler dead-letters the record).
    """

    def decorate(fn: F) -> F:
        params = list(inspect.signature(fn, eval_str=True).parameters.values())
        if len(params) == 2:
            options.setdefault("input_serde", StrictSerde(params[1].annotation))

        @functools.wraps(fn)
        async def wrapper(ctx: Any, *args: Any) -> Any:
            _bind_log_context(ctx)
            bad_key = check_key(object_key(ctx)) if keys_checked else None
            if bad_key is not None:
                raise restate.TerminalError(bad_key.message, status_code=bad_key.status)
            if before is not None:
                await before(ctx)
            if args and isinstance(args[0], InvalidInput):
                raise restate.TerminalError(args[0].message, status_code=args[0].status)
            return await fn(ctx, *args)

        return register(**options)(wrapper)  # type: ignore[arg-type]

    return decorate
