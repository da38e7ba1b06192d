"""A small Kafka producer and dead-letter reader, so nobody needs a Kafka install of their own.

``producer_cli(subscription)`` is the ``client`` command of a pattern fed by Kafka:

    uv run --package eventtransactions client 'userid1:{"content": "hi", "metadata": "public"}'
    uv run --package eventtransactions client < posts.txt      # one key:{json} line each
    uv run --package eventtransactions client --dead-letters    # what went to the .dlq topic

Each line is ``key:value``; the value is sent as it is (not validated: a poison record is
something a user may want to send on purpose).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

from common.events import DEFAULT_BOOTSTRAP, Subscription, producer


def parse_line(line: str) -> tuple[str, str]:
    """``'user1:{"a": 1}'`` -> ``("user1", '{"a": 1}')``; the key is everything before the first colon."""
    key, sep, value = line.partition(":")
    if not sep or not key.strip():
        raise ValueError(f"not a key:value line: {line!r}")
    return key.strip(), value.strip()


def produce(
    bootstrap: str, topic: str, records: Iterable[tuple[str, str | bytes]]
) -> list[tuple[str, int, int]]:
    """Produce ``(key, value)`` records in order; returns ``(key, partition, offset)`` per record."""
    client = producer(bootstrap)
    delivered: list[tuple[str, int, int]] = []
    errors: list[str] = []

    def report(error: Any, message: Any) -> None:
        if error:
            errors.append(str(error))
        else:
            delivered.append((message.key().decode(), message.partition(), message.offset()))

    count = 0
    for key, value in records:
        data = value.encode() if isinstance(value, str) else value
        client.produce(topic, key=key.encode(), value=data, on_delivery=report)
        client.poll(0)
        count += 1
    client.flush(30)
    if errors or len(delivered) != count:
        raise RuntimeError(f"{len(delivered)} of {count} records delivered to {topic}: {errors[:1]}")
    return delivered


def read_topic(bootstrap: str, topic: str, *, timeout: float = 30.0) -> list[tuple[str | None, bytes]]:
    """Every record on ``topic`` now, oldest first per partition (reads up to the end, no group)."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "reader", "enable.auto.commit": False})
    try:
        partitions = consumer.list_topics(topic, timeout=timeout).topics[topic].partitions
        ends = {}
        for p in partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout)
            ends[p] = high if high > low else 0
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p, end in ends.items() if end > 0])
        records: list[tuple[str | None, bytes]] = []
        deadline = time.monotonic() + timeout
        while any(end > 0 for end in ends.values()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading {topic} took longer than {timeout}s")
            message = consumer.poll(1.0)
            if message is None or message.error():
                continue
            key, partition, offset = message.key(), int(message.partition() or 0), int(message.offset() or 0)
            records.append((key.decode() if key is not None else None, message.value() or b""))
            if offset + 1 >= ends[partition]:
                ends[partition] = 0
        return records
    finally:
        consumer.close()


def dead_letters(bootstrap: str, subscription: Subscription) -> list[dict[str, Any]]:
    """The envelopes on the subscription's dead-letter topic, oldest first."""
    return [json.loads(value) for _, value in read_topic(bootstrap, subscription.dead_letter_topic)]


def producer_cli(subscription: Subscription) -> Callable[[list[str] | None], int]:
    def main(argv: list[str] | None = None) -> int:
        parser = argparse.ArgumentParser(
            prog="client", description=f"Produce key:{{json}} lines to the Kafka topic {subscription.topic}."
        )
        parser.add_argument("lines", nargs="*", help="key:value records (default: read lines from stdin)")
        parser.add_argument("--topic", default=subscription.topic)
        parser.add_argument(
            "--bootstrap-servers", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", DEFAULT_BOOTSTRAP)
        )
        parser.add_argument(
            "--dead-letters", action="store_true", help=f"print what went to {subscription.dead_letter_topic}"
        )
        args = parser.parse_args(argv)
        if args.dead_letters:
            for letter in dead_letters(args.bootstrap_servers, subscription):
                print(f"{letter['key']}: {letter['reason']}\n    value: {letter['value']}")
            return 0
        code = 0
        for line in args.lines or (line.rstrip("\n") for line in sys.stdin):
            if not line.strip():
                continue
            try:
                record = parse_line(line)
            except ValueError as error:
                print(error, file=sys.stderr)
                code = 1
                continue
            for key, partition, offset in produce(args.bootstrap_servers, args.topic, [record]):
                print(f"sent {key} to {args.topic} (partition {partition}, offset {offset})", flush=True)
        return code

    return main
