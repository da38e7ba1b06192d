"""Kafka in, state out: events per second and produce-to-state latency for both event patterns.

Records go to the pattern's topic at a steady ``RATE`` over 1, 4 or 16 keys, each carrying its
sequence number; the benchmark notes when it produced each one and when its effect became
visible, so a pattern that cannot keep up shows it as a growing latency and a lower rate:

- ``UserFeed`` (eventtransactions): the ``update-feed`` effect in the fake social media API's
  ledger, timed by the API itself (moderation answers at once, no poll delay);
- ``PackageTracker`` (eventenrichment): the location in the package's state, read through the
  admin API every ``POLL`` seconds (so its latencies are rounded up to that).

Each key's records must be applied in the order they were produced, each once.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from common.events import producer
from toolkit.bench.model import Result
from toolkit.bench.scenario import result

if TYPE_CHECKING:
    from toolkit.bench.scenario import Bench, Scenario

POLL = 0.02
RATE = 1000.0  # records per second sent, the target the patterns should sustain
POSTS_ENV = {"EVENTTRANSACTIONS_POLL_SECONDS": "0", "EVENTTRANSACTIONS_PENDING__MODE": "off"}
Applied = dict[str, list[tuple[int, float]]]  # key -> (sequence number, when visible), in order


def _posts(bench: Bench, run: str, keys: list[str]) -> Applied:
    ledger = bench.ledger("eventtransactions")
    posts = {e.result: e.request["content"] for e in ledger.effects("socialmedia", "create-post")}
    applied: Applied = {key: [] for key in keys}
    for fed in ledger.effects("socialmedia", "update-feed"):
        marker = posts.get(fed.key, "")
        if marker.startswith(f"{run}:") and fed.request["user"] in applied:
            applied[fed.request["user"]].append((int(marker.split(":")[1]), fed.at))
    return applied


def _packages(bench: Bench, run: str, keys: list[str], seen: dict[int, float]) -> Applied:
    rows = bench.admin.query(
        "SELECT service_key, value_utf8 FROM state WHERE service_name = 'PackageTracker'"
        f" AND key = 'package-info' AND service_key LIKE '{run}-%'"
    )
    now = time.time()
    applied: Applied = {key: [] for key in keys}
    for row in rows:
        for update in json.loads(row["value_utf8"])["locations"]:
            number = int(update["location"].split(":")[1])
            applied[row["service_key"]].append((number, seen.setdefault(number, now)))
    return applied


def _paced(bootstrap: str, topic: str, records: list[tuple[str, str]]) -> list[float]:
    """Produce ``records`` at ``RATE`` per second; when each one was handed to the producer."""
    client = producer(bootstrap)
    errors: list[str] = []
    sent: list[float] = []

    def report(error: Any, _message: Any) -> None:
        if error:
            errors.append(str(error))

    began = time.time()
    for i, (key, value) in enumerate(records):
        time.sleep(max(0.0, began + i / RATE - time.time()))
        sent.append(time.time())
        client.produce(
            topic,
            key=key.encode(),
            value=value.encode(),
            on_delivery=report,
        )
        client.poll(0)
    if client.flush(30) or errors:
        raise RuntimeError(f"records not delivered to {topic}: {errors[:1]}")
    return sent


def kafka(pattern: str, keys: int) -> Callable[[Bench, Scenario], Result]:
    def run(bench: Bench, scenario: Scenario) -> Result:
        assert bench.harness, "the Kafka scenarios run on the benchmark's own server only"
        from eventenrichment.service import LOCATION_UPDATES
        from eventtransactions.service import POSTS

        posts = pattern == "eventtransactions"
        bench.harness.service(pattern, LOG_LEVEL="WARNING", **scenario.env)
        subscription = POSTS if posts else LOCATION_UPDATES
        bench.harness.subscribe(subscription)
        tag = f"{scenario.name}-{uuid.uuid4().hex[:8]}"
        names = [f"{tag}-{k}" for k in range(keys)]
        if not posts:
            for name in names:
                bench.harness.ingress.call(
                    "PackageTracker", "RegisterPackage", {"finalDestination": "Berlin"}, key=name
                )
        n = max(keys, bench.requests)
        records: list[tuple[str, str]] = []
        for i in range(n):
            marker = f"{tag}:{i}"
            value: dict[str, Any] = (
                {"content": marker, "metadata": "public"}
                if posts
                else {"timestamp": "2024-05-01T10:00:00Z", "location": marker}
            )
            records.append((names[i % keys], json.dumps(value)))
        seen: dict[int, float] = {}
        sent = _paced(bench.harness.kafka().bootstrap, subscription.topic, records)

        def applied() -> Applied:
            return _posts(bench, tag, names) if posts else _packages(bench, tag, names, seen)

        deadline = time.monotonic() + 120
        state = applied()
        while sum(map(len, state.values())) < n and time.monotonic() < deadline:
            time.sleep(POLL)
            state = applied()
        done = [t for entries in state.values() for _, t in entries]
        problems = [f"{len(done)} of {n} records applied"] if len(done) != n else []
        for name, entries in state.items():
            numbers = [number for number, _ in entries]
            if numbers != sorted(numbers) or len(set(numbers)) != len(numbers):
                problems.append(f"key {name}: applied out of order or twice: {numbers[:20]}")
        ms = [1000 * (t - sent[number]) for entries in state.values() for number, t in entries]
        seconds = max(done) - sent[0] if done else 0.0
        return result(
            scenario,
            ms,
            generator="kafka",
            requests=n,
            concurrency=keys,
            seconds=seconds,
            throughput=len(done) / seconds if seconds else 0.0,
            problems=problems,
            extra={"keys": float(keys), "sent_per_second": round(n / (sent[-1] - sent[0] or 1), 1)},
        )

    return run
