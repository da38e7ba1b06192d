"""Kafka side of the hostile suite: raw records in, dead letters out, and the record count check.

Every record becomes exactly one invocation of the subscription's handler, which either
processes it or dead-letters it (``<topic>.dlq``) and returns. So once a batch is through, for
every key: processed + dead letters = records sent, no invocation failed or retried, and the
valid record sent last on the key was processed (the key moves on).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from common.events import MAX_LETTER_VALUE, Subscription
from common.ingress import Admin

from .checker import stamp

KAFKA_SECONDS = 30.0  # for a batch to go through Restate's consumer and the handlers
MAX_RECORD = 3 << 20  # record values sent; the topics and the producer allow 4 MiB with the key


def kafka_key(key: bytes | None) -> str:
    """The object key Restate makes of a record key (a record without key: the empty key)."""
    return "" if key is None else key.decode()


def letter_value(value: bytes | None) -> tuple[int, str]:
    """How a dead letter shows a record value: its size and its first 64 KiB."""
    data = value or b""
    return len(data), data[:MAX_LETTER_VALUE].decode(errors="backslashreplace")


def producer(bootstrap: str) -> Any:
    """A producer that also sends values over Kafka's default 1 MB limit (the topics allow 4 MiB)."""
    from confluent_kafka import Producer

    return Producer(
        {"bootstrap.servers": bootstrap, "enable.idempotence": True, "message.max.bytes": 4 << 20}
    )


def produce(client: Any, topic: str, records: list[tuple[bytes | None, bytes | None]]) -> None:
    errors: list[str] = []
    for key, value in records:
        client.produce(
            topic, key=key, value=value, on_delivery=lambda e, _m: errors.append(str(e)) if e else None
        )
    assert client.flush(30) == 0 and not errors, f"records not delivered to {topic}: {errors[:2]}"


def allow_large_records(bootstrap: str, topics: tuple[str, ...]) -> None:
    from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource

    entry = ConfigEntry("max.message.bytes", str(4 << 20), incremental_operation=AlterConfigOpType.SET)
    resources = [ConfigResource(ConfigResource.Type.TOPIC, t, incremental_configs=[entry]) for t in topics]
    admin = AdminClient({"bootstrap.servers": bootstrap})  # kept alive until the futures are done
    for future in admin.incremental_alter_configs(resources).values():
        future.result(timeout=30)


@dataclass
class LetterBox:
    """Reads every dead letter written after it was opened, from all the given subscriptions."""

    bootstrap: str
    subscriptions: tuple[Subscription, ...]
    letters: list[dict[str, Any]] = field(default_factory=list)
    consumer: Any = None
    producer: Any = None  # of the hostile records

    def open(self) -> LetterBox:
        from confluent_kafka import OFFSET_END, Consumer, TopicPartition

        config = {"bootstrap.servers": self.bootstrap, "group.id": f"hostile-{time.time_ns()}"}
        self.consumer = Consumer({**config, "enable.auto.commit": False})
        topics = [s.dead_letter_topic for s in self.subscriptions]
        metadata = self.consumer.list_topics(timeout=30).topics
        partitions = [TopicPartition(t, p, OFFSET_END) for t in topics for p in metadata[t].partitions]
        self.consumer.assign(partitions)
        self.read(1.0)  # settle the assignment at the current end
        self.producer = producer(self.bootstrap)
        return self

    def read(self, quiet: float = 0.3) -> list[dict[str, Any]]:
        """Every letter so far; polls until nothing new came for ``quiet`` seconds."""
        while True:
            batch = self.consumer.consume(num_messages=500, timeout=quiet)
            fresh = [m for m in batch if m.error() is None]
            self.letters += [json.loads(m.value()) for m in fresh]
            if not batch:
                return self.letters

    def close(self) -> None:
        if self.consumer is not None:
            self.consumer.close()


def through(admin: Admin, sink: Subscription, sent: Counter[str], since: float) -> Counter[str]:
    """Wait until every record sent has had its invocation completed; returns them per key."""
    deadline = time.monotonic() + KAFKA_SECONDS
    while True:
        rows = admin.query(
            "SELECT target_service_key AS k, status, completion_result, completion_failure, last_failure"
            f" FROM sys_invocation WHERE target_service_name = '{sink.service}'"
            f" AND target_handler_name = '{sink.handler}' AND invoked_by = 'subscription'"
            f" AND created_at >= '{stamp(since)}'"
        )
        bad = [r for r in rows if r["status"] in ("backing-off", "paused") or r.get("last_failure")]
        bad += [r for r in rows if r.get("completion_result") == "failure"]
        assert not bad, f"records failed or retried: {[(r['k'][:40], r['status'], r) for r in bad][:3]}"
        done = Counter(r["k"] for r in rows if r["status"] == "completed")
        if all(done[k] >= n for k, n in sent.items()):
            return done
        missing = {k[:40]: f"{done[k]}/{n}" for k, n in sent.items() if done[k] < n}
        assert time.monotonic() < deadline, f"records not through after {KAFKA_SECONDS}s: {missing}"
        time.sleep(0.1)
