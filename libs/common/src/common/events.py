"""Handlers fed by a Kafka subscription, with a dead-letter topic for records they cannot read.

Restate's Kafka ingress turns each record into an invocation of the subscription's sink (the
record key becomes the object key; one key is processed in order, keys in parallel). A record
whose value is not valid input must neither block its key nor vanish, so ``event_handler``
takes the raw bytes, validates them itself, and on failure publishes the record to
``<topic>.dlq`` inside a durable step, then returns normally: the next record of the key runs.
(Called over HTTP instead, the same handler answers invalid input with a 400.)

    topic --record(key, value)--> Restate --> Obj/<key>/Handler(raw bytes)
                                                 | valid:   fn(ctx, model)
                                                 | invalid: ctx.run("dead-letter") --> <topic>.dlq

The dead letter's key is the invocation id, so a step retried after a crash is recognisable as
the same letter; its value is a JSON envelope: the original key and value (its first 64 KiB),
the reason, and where the record was (``kafka.topic``, ``kafka.partition``, ``kafka.offset``).
The topic is the subscription's own ``<topic>.dlq``, fixed in code, never read from a request.

Whether an invocation came from the subscription is decided by what the server stamps on it,
not by what a caller can send: Restate's HTTP ingress adds ``x-restate-ingress-path`` to every
invocation it creates (a caller can add headers, never remove that one), and its Kafka ingress
adds ``restate.subscription.id`` and no ingress path. An HTTP caller that sends Kafka's headers
still gets its 400.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import logging
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import restate
from pydantic import AliasChoices, Field
from restate.serde import BytesSerde

from common.faults import TransientFailure
from common.handlers import InvalidInput, StrictSerde, check_key, handler, object_key
from common.settings import ServiceSettings

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])

CLUSTER = "my-cluster"
# The local broker (restate.toml's ``my-cluster``, compose's host listener). Not Kafka's usual 9092:
# that is the cron pattern's port in the catalogue.
DEFAULT_KAFKA_PORT = 19092
DEFAULT_BOOTSTRAP = f"127.0.0.1:{DEFAULT_KAFKA_PORT}"
# Restate's Kafka ingress passes where a record came from as headers of the invocation.
KAFKA_HEADERS = ("kafka.topic", "kafka.partition", "kafka.offset")
SUBSCRIPTION_HEADER = "restate.subscription.id"
# ... and its HTTP ingress stamps every invocation it creates with the path it was called on.
INGRESS_PATH_HEADER = "x-restate-ingress-path"
MAX_LETTER_VALUE = 64 * 1024  # of the record's value kept in a dead letter; Kafka caps messages at 1 MB


def from_subscription(headers: dict[str, str]) -> bool:
    """Whether Restate's Kafka ingress created this invocation (not an HTTP caller or a service)."""
    names = {name.lower() for name in headers}
    return SUBSCRIPTION_HEADER in names and INGRESS_PATH_HEADER not in names


log = restate.getLogger(__name__)


@dataclass(frozen=True)
class Subscription:
    """A Kafka topic feeding one handler: ``kafka://my-cluster/<topic>`` -> ``service://Svc/Handler``."""

    topic: str
    service: str
    handler: str

    @property
    def source(self) -> str:
        return f"kafka://{CLUSTER}/{self.topic}"

    @property
    def sink(self) -> str:
        return f"service://{self.service}/{self.handler}"

    @property
    def dead_letter_topic(self) -> str:
        return f"{self.topic}.dlq"

    @property
    def topics(self) -> tuple[str, str]:
        return (self.topic, self.dead_letter_topic)


class EventSettings(ServiceSettings):
    """Settings of a service fed by Kafka: where the broker is (for dead letters)."""

    kafka_bootstrap_servers: str = Field(
        DEFAULT_BOOTSTRAP, validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS")
    )


def producer(bootstrap_servers: str) -> Any:
    """An idempotent Kafka producer whose client logs go through ``logging``."""
    from confluent_kafka import Producer

    config = {"bootstrap.servers": bootstrap_servers, "enable.idempotence": True, "linger.ms": 0}
    return Producer({**config, "logger": logging.getLogger("common.kafka")})


class DeadLetters:
    """Publishes unreadable records of one subscription to its ``.dlq`` topic."""

    def __init__(self, subscription: Subscription, bootstrap_servers: str) -> None:
        self.subscription = subscription
        self.bootstrap_servers = bootstrap_servers
        self._producer: Any = None

    def _publish_sync(self, letter_key: str, envelope: bytes) -> None:
        if self._producer is None:
            self._producer = producer(self.bootstrap_servers)
        errors: list[Any] = []
        self._producer.produce(
            self.subscription.dead_letter_topic,
            key=letter_key.encode(),
            value=envelope,
            on_delivery=lambda error, _msg: errors.append(error) if error else None,
        )
        if self._producer.flush(10) > 0 or errors:
            raise TransientFailure(f"dead letter not delivered: {errors or 'timed out'}")

    async def publish(
        self, *, invocation_id: str, key: str | None, value: bytes, reason: str, origin: dict[str, str]
    ) -> str:
        """Write one dead letter; returns the topic it went to."""
        envelope = {
            **origin,
            "sink": self.subscription.sink,
            "key": key,
            "value": value[:MAX_LETTER_VALUE].decode(errors="backslashreplace"),
            "valueBytes": len(value),
            "reason": reason,
            "invocationId": invocation_id,
        }
        await asyncio.to_thread(self._publish_sync, invocation_id, json.dumps(envelope).encode())
        return self.subscription.dead_letter_topic


def event_handler(
    register: Callable[..., Callable[[F], F]], /, *, dead_letters: DeadLetters, **options: Any
) -> Callable[[F], F]:
    """Like ``common.handlers.handler``, but an invalid record becomes a dead letter, not a 400.

    The handler stays callable over HTTP, where invalid input is still a 400 (the caller is there
    to see it); only invocations from Restate's Kafka ingress dead-letter their input.
    ``fn(ctx, event: Model)`` runs only for valid records; it may still raise ``TerminalError``
    for business failures (those fail the invocation and do not block the key either).
    """

    def decorate(fn: F) -> F:
        params = list(inspect.signature(fn, eval_str=True).parameters.values())
        strict = StrictSerde(params[1].annotation)

        @functools.wraps(fn)
        async def on_record(ctx: Any, raw: bytes) -> Any:
            key = object_key(ctx)
            event = check_key(key) or strict.deserialize(raw)
            if not isinstance(event, InvalidInput):
                return await fn(ctx, event)
            headers = ctx.request().headers
            if not from_subscription(headers):  # a direct (HTTP) caller gets its 4xx at once
                raise restate.TerminalError(event.message, status_code=event.status)
            topic = await ctx.run_typed(
                "dead-letter",
                dead_letters.publish,
                invocation_id=ctx.request().id,
                key=key,
                value=raw,
                reason=event.message,
                origin={name: headers[name] for name in KAFKA_HEADERS if name in headers},
            )
            log.warning("Record for key %s sent to %s: %s", key, topic, event.message)
            return None

        return handler(register, input_serde=BytesSerde(), keys_checked=False, **options)(on_record)  # type: ignore[arg-type]

    return decorate


def producer_client(subscription: Subscription) -> Callable[[list[str] | None], int]:
    """The ``client`` of a Kafka pattern: the toolkit's producer for its topic.

    The producer is tooling (a dev dependency of every service), so a service image, which holds
    the runtime only, answers ``client`` with where to find it instead of a traceback.
    """

    def main(argv: list[str] | None = None) -> int:
        try:
            from toolkit.producer import producer_cli
        except ImportError:
            sys.exit("the producer comes with the workspace's toolkit: uv run --package <pattern> client")
        return producer_cli(subscription)(argv)

    return main
