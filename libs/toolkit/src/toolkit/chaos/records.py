"""Drivers of the two Kafka patterns: posts to ``social-media-posts`` (``UserFeed``) and
location updates to ``package-location-updates`` (``PackageTracker``), one in ten a poison
record. Records go through one idempotent producer, so each key's records reach the broker in
the order produced, each once, even when the broker is killed and comes back."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any, ClassVar

from common.events import Subscription
from toolkit.chaos.calls import path
from toolkit.chaos.workload import Checks, Driver

# The two subscriptions, by their public names (the runner checks them against the patterns').
POSTS = Subscription("social-media-posts", "UserFeed", "ProcessPost")
LOCATION_UPDATES = Subscription("package-location-updates", "PackageTracker", "UpdateLocation")
POISON = [b"{not json", b'{"content": 5}', b"[]", b'"just a string"']


@dataclass
class Record:
    key: str
    value: bytes
    poison: bool
    marker: str  # what the record carries (post content, location)
    delivered: bool | None = None  # None: not acknowledged by the broker yet


def producer(bootstrap: str) -> Any:
    from confluent_kafka import Producer

    # librdkafka logs every refused connection while the broker is down: only its criticals here
    return Producer(
        {"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 5, "log_level": 2}
    )


def dead_letters(bootstrap: str, subscription: Subscription, run: str) -> list[dict[str, Any]]:
    """Every dead letter of ``subscription`` for a key of this run."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": f"chaos-{time.time_ns()}", "enable.auto.commit": False}
    )
    try:
        topic = subscription.dead_letter_topic
        partitions = consumer.list_topics(topic, timeout=30).topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        letters = []
        while batch := consumer.consume(num_messages=500, timeout=2.0):
            letters += [json.loads(m.value() or b"null") for m in batch if m.error() is None]
        return [letter for letter in letters if str(letter.get("key", "")).startswith(run)]
    finally:
        consumer.close()


def _first_difference(want: list[str], got: list[str]) -> int:
    return next(
        (i for i, (a, b) in enumerate(zip(want, got, strict=False)) if a != b), min(len(want), len(got))
    )


class Feed(Driver):
    """What both Kafka drivers share: producing, the drain, the dead-letter count."""

    subscription: Subscription
    KEYS = 6

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.keys = [self.key(self.pattern, i) for i in range(self.KEYS)]
        self.records: list[Record] = []

    def valid(self, key: str, n: int) -> tuple[bytes, str]:
        raise NotImplementedError

    def applied(self) -> dict[str, list[str]]:
        """The markers of the records applied so far, per key, in the order applied."""
        raise NotImplementedError

    async def step(self, n: int) -> None:
        if self.ctx.producer is None:
            self.ctx.producer = producer(self.ctx.bootstrap)
        key = self.rng.choice(self.keys)
        poison = self.rng.random() < 0.1
        value, marker = (self.rng.choice(POISON), "") if poison else self.valid(key, n)
        record = Record(key, value, poison, marker)
        self.records.append(record)

        def delivered(error: Any, _message: Any, record: Record = record) -> None:
            record.delivered = error is None

        self.ctx.producer.produce(
            self.subscription.topic, key=key.encode(), value=value, on_delivery=delivered
        )
        self.ctx.producer.poll(0)

    async def finish(self) -> None:
        if self.ctx.producer is not None:
            await asyncio.to_thread(self.ctx.producer.flush, 300)

    def pending(self) -> int:
        applied = self.applied()
        return sum(max(0, len(self.expected(k)) - len(applied.get(k, []))) for k in self.keys)

    def expected(self, key: str) -> list[str]:
        return [r.marker for r in self.records if r.key == key and not r.poison and r.delivered]

    def check(self, checks: Checks) -> None:
        lost = [r for r in self.records if not r.delivered]
        checks.expect(
            "answered",
            self.pattern,
            not lost,
            f"{len(lost)} records never acknowledged by the broker",
            [r.key for r in lost],
        )
        applied = self.applied()
        # A dead letter is written in a durable step keyed by its invocation: a step retried after a
        # crash (or a broker that lost the answer) may write it twice, under the same invocation id.
        found = dead_letters(self.ctx.bootstrap, self.subscription, self.ctx.run)
        letters = Counter(key for key, _ in {(x["key"], x["invocationId"]) for x in found})
        for key in self.keys:
            want, got = self.expected(key), applied.get(key, [])
            checks.expect(
                "kafka-order",
                self.pattern,
                got == want,
                f"{key}: {len(want)} records, applied {len(got)}; "
                f"first difference at {_first_difference(want, got)}",
                [key],
            )
            poison = sum(1 for r in self.records if r.key == key and r.poison and r.delivered)
            checks.expect(
                "kafka-order",
                self.pattern,
                letters[key] == poison,
                f"{key}: {poison} poison records, {letters[key]} dead letters",
                [key],
            )


class Posts(Feed):
    pattern = "eventtransactions"
    weight = 1.5
    subscription = POSTS
    subscriptions: ClassVar[tuple[Subscription, ...]] = (POSTS,)
    env: ClassVar[dict[str, str]] = {
        "EVENTTRANSACTIONS_POLL_SECONDS": "0.2",
        "EVENTTRANSACTIONS_PENDING__MODE": "random",
        "EVENTTRANSACTIONS_PENDING__RATE": "0.5",
        "EVENTTRANSACTIONS_FAILURE__MODE": "random",
        "EVENTTRANSACTIONS_FAILURE__RATE": "0.1",
    }

    def valid(self, key: str, n: int) -> tuple[bytes, str]:
        content = f"{key}-post-{n}"
        return json.dumps({"content": content, "metadata": "public"}).encode(), content

    def applied(self) -> dict[str, list[str]]:
        posts = {e.result: e for e in self.ledger.effects("socialmedia", "create-post")}
        fed: dict[str, list[str]] = defaultdict(list)
        for effect in sorted(self.ledger.effects("socialmedia", "update-feed"), key=lambda e: e.at):
            post = posts.get(effect.request["post"])
            if post is not None and effect.request["user"].startswith(self.ctx.run):
                fed[effect.request["user"]].append(post.request["content"])
        return fed

    def check(self, checks: Checks) -> None:
        super().check(checks)
        created = Counter(e.request["content"] for e in self.ledger.effects("socialmedia", "create-post"))
        twice = [c for c, n in created.items() if n > 1 and c.startswith(self.ctx.run)]
        checks.expect(
            "effects-once", self.pattern, not twice, f"{len(twice)} posts created more than once", twice
        )


class Packages(Feed):
    pattern = "eventenrichment"
    weight = 1.5
    subscription = LOCATION_UPDATES
    subscriptions: ClassVar[tuple[Subscription, ...]] = (LOCATION_UPDATES,)
    env: ClassVar[dict[str, str]] = {
        "EVENTENRICHMENT_FAILURE__MODE": "random",
        "EVENTENRICHMENT_FAILURE__RATE": "0.1",
    }

    async def setup(self) -> None:
        for package in self.keys:  # an update needs its package registered
            await self.invoke(
                "register",
                path("PackageTracker", "RegisterPackage", package),
                {"finalDestination": "Berlin"},
                idempotency_key=f"register-{package}",
            )

    def valid(self, key: str, n: int) -> tuple[bytes, str]:
        location = f"{key}-at-{n}"
        return json.dumps({"timestamp": "2024-05-01T10:00:00Z", "location": location}).encode(), location

    def applied(self) -> dict[str, list[str]]:
        rows = self.ctx.admin.query(
            "SELECT service_key, value_utf8 FROM state WHERE service_name = 'PackageTracker'"
            f" AND key = 'package-info' AND service_key LIKE '{self.ctx.run}-%'"
        )
        return {
            r["service_key"]: [u["location"] for u in json.loads(r["value_utf8"])["locations"]] for r in rows
        }

    def check(self, checks: Checks) -> None:
        self.answered(checks)
        super().check(checks)
