"""Handlers that reject bad input with a 400 naming the field, instead of retrying forever.

The SDK turns an input that fails to parse into a terminal error with status 500, and hands a
handler ``None`` for an empty body. ``handler`` registers a function with an input serde that
never raises: it yields the validated model or an ``InvalidInput`` that the wrapper turns into
``TerminalError(..., 400)`` before the function runs. The wrapper also puts the invocation id and
object key into every log record of the invocation.

    @handler(worker.handler, name="RunTask")
    async def run_task(ctx: restate.Context, task: TaskOpts) -> Result: ...

``before=check`` awaits ``check(ctx)`` ahead of input validation, e.g. to authenticate the raw
request (``ctx.request().headers`` / ``.body``) before its content is looked at.
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import restate
from pydantic import BaseModel, TypeAdapter, ValidationError
from restate.serde import Serde

from common import logs

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


@dataclass(frozen=True)
class InvalidInput:
    message: str


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
            raw = json.loads(buf)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            return InvalidInput(f"request body is not valid JSON: {error}")
        try:
            return self.adapter.validate_python(raw)
        except ValidationError as error:
            return InvalidInput(f"invalid input: {describe_validation_error(error)}")

    def serialize(self, obj: Any) -> bytes:
        if obj is None:
            return b""
        if isinstance(obj, BaseModel):
            return obj.model_dump_json(by_alias=True).encode()
        return self.adapter.dump_json(obj, by_alias=True)


def _bind_log_context(ctx: Any) -> None:
    logs.invocation_id.set(ctx.request().id)
    key = getattr(ctx, "key", None)
    logs.object_key.set(key() if callable(key) else None)


def handler(
    register: Callable[..., Callable[[F], F]],
    /,
    *,
    before: Callable[[Any], Awaitable[None]] | None = None,
    **options: Any,
) -> Callable[[F], F]:
    """Register ``fn`` with ``register`` (``svc.handler``, ``obj.handler``, ``wf.main`` ...)."""

    def decorate(fn: F) -> F:
        params = list(inspect.signature(fn, eval_str=True).parameters.values())
        if len(params) == 2:
            options.setdefault("input_serde", StrictSerde(params[1].annotation))

        @functools.wraps(fn)
        async def wrapper(ctx: Any, *args: Any) -> Any:
            _bind_log_context(ctx)
            if before is not None:
                await before(ctx)
            if args and isinstance(args[0], InvalidInput):
                raise restate.TerminalError(args[0].message, status_code=400)
            return await fn(ctx, *args)

        return register(**options)(wrapper)  # type: ignore[arg-type]

    return decorate
