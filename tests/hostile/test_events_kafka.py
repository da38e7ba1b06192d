"""Hostile Kafka records to the two subscribed topics: ``social-media-posts`` (``UserFeed``) and
``package-location-updates`` (``PackageTracker``).

Each example produces a few records with random values (JSON of any shape, near-valid values,
bytes that are not JSON, tombstones, values over 1 MiB) and keys (none, empty, odd, up to 300 KB),
then one valid record per key. Asserted (``records``): every record is processed or
dead-lettered exactly once, nothing fails or retries, and each key's last, valid record is
processed. Keys that are not UTF-8 get a topic of their own (Restate cannot make an object key
of them), so that the shared topics stay usable.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from eventenrichment.service import LOCATION_UPDATES
from eventtransactions.service import POSTS
from hypothesis import given
from hypothesis import strategies as st

from common.events import Subscription
from toolkit.infra.kafka import KafkaBroker
from toolkit.testing import Harness

from .checker import Probe, segment
from .profile import TIMEOUT, examples
from .records import MAX_RECORD, LetterBox, allow_large_records, kafka_key, letter_value, produce, through
from .strategies import KEY_LIMIT, bodies, sized_key

pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.hostile, TIMEOUT]


@dataclass(frozen=True)
class Feed:
    subscription: Subscription
    valid: Callable[[str], dict[str, str]]  # a valid record value carrying a marker

    def __repr__(self) -> str:
        return self.subscription.topic


FEEDS = [
    Feed(POSTS, lambda marker: {"content": marker, "metadata": "public"}),
    Feed(LOCATION_UPDATES, lambda marker: {"timestamp": "2024-05-01T10:00:00Z", "location": marker}),
]


FAST = {"EVENTTRANSACTIONS_POLL_SECONDS": "0.1", "EVENTTRANSACTIONS_PENDING__MODE": "off"}


@pytest.fixture(scope="module")
def letters(harness: Harness, kafka: KafkaBroker) -> Iterator[LetterBox]:
    harness.service("eventtransactions", **FAST), harness.service("eventenrichment")
    for subscription in (POSTS, LOCATION_UPDATES):
        harness.subscribe(subscription)
    allow_large_records(kafka.bootstrap, (POSTS.topic, LOCATION_UPDATES.topic))
    box = LetterBox(kafka.bootstrap, (POSTS, LOCATION_UPDATES)).open()
    yield box
    box.close()


@pytest.fixture
def probe(harness: Harness, letters: LetterBox) -> Probe:
    handles = [harness.service("eventtransactions", **FAST), harness.service("eventenrichment")]
    return Probe(harness.ingress, harness.admin, handles, ("UserFeed", "PackageTracker"))


def processed(probe: Probe, feed: Feed, key: str) -> list[str]:
    """The markers (post contents, locations) of the records of ``key`` processed so far."""
    if feed.subscription is POSTS:
        ledger = probe.handles[0].ledger
        posts = {
            e.result: e for e in ledger.effects("socialmedia", "create-post") if e.request["user"] == key
        }
        fed = [e for e in ledger.effects("socialmedia", "update-feed") if e.request["user"] == key]
        assert len(posts) == len(fed), (
            f"posts of {key[:40]!r} created but never fed: {len(posts)} vs {len(fed)}"
        )
        return [posts[e.key].request["content"] for e in fed]
    if len(key.encode()) > KEY_LIMIT:
        return []
    answer = probe.ingress.http.post(f"/PackageTracker/{segment(key)}/GetPackageInfo", timeout=10)
    return [u["location"] for u in answer.json()["locations"]] if answer.is_success else []


record_keys = st.one_of(
    st.just("main"),
    st.just("main"),
    st.sampled_from([None, b"", b"\x00", b" ", b"/", "é".encode(), b"%2F"]),
    st.text(max_size=20).map(lambda t: "main" + t),
    st.sampled_from([4096, 4097, 61_440, 300_000]).map(lambda n: f"size-{n}"),
)


def batches(feed: Feed) -> st.SearchStrategy[list[tuple[str | bytes | None, bytes | None]]]:
    """Up to four records with hostile keys and values; built once per feed, so that every
    example draws from the same strategy objects."""
    values = (bodies(feed.valid("hostile")).map(lambda b: b if b else None) | bodies(None)).filter(
        lambda v: v is None or len(v) <= MAX_RECORD  # 1 MiB of emoji is 4 MiB: past the producer's limit
    )
    return st.lists(st.tuples(record_keys, values), min_size=1, max_size=4)


BATCHES = {feed.subscription.topic: batches(feed) for feed in FEEDS}


def concrete(key: str | bytes | None, main: str) -> bytes | None:
    if isinstance(key, str):
        size = int(key[5:]) if key.startswith("size-") else 0
        return (sized_key(main, size, "k") if size else main + key[4:]).encode()
    return key


@pytest.mark.parametrize("feed", FEEDS, ids=repr)
@examples(0.5)
@given(data=st.data())
def test_no_record_wedges_a_key(probe: Probe, letters: LetterBox, feed: Feed, data: st.DataObject) -> None:
    main = f"kafka-{time.time_ns()}"
    drawn = data.draw(BATCHES[feed.subscription.topic], label="records")
    records = [(concrete(k, main), v) for k, v in drawn]
    keys = list(dict.fromkeys([r[0] for r in records] + [main.encode()]))
    markers = {kafka_key(k): f"valid-{i}-{time.time_ns()}" for i, k in enumerate(keys)}
    batch = records + [(k, json.dumps(feed.valid(markers[kafka_key(k)])).encode()) for k in keys]
    usable = [k for k in markers if len(k.encode()) <= KEY_LIMIT]
    if feed.subscription is LOCATION_UPDATES:  # an update needs its package registered
        for key in usable:
            body = {"finalDestination": "Berlin"}
            probe.ingress.call("PackageTracker", "RegisterPackage", body, key=key, timeout=10)
    before = {key: processed(probe, feed, key) for key in markers}
    seen, since = len(letters.read()), time.time()
    produce(letters.producer, feed.subscription.topic, batch)
    sent = Counter(kafka_key(k) for k, _ in batch)
    through(probe.admin, feed.subscription, sent, since)
    probe.settled(f"{feed!r} records {records!r}", since)
    fresh = letters.read()[seen:]  # written before each invocation completed
    for key, count in sent.items():
        done = processed(probe, feed, key)[len(before[key]) :]
        mine = [m for m in fresh if m["key"] == key and m["kafka.topic"] == feed.subscription.topic]
        values = [v for k, v in batch if kafka_key(k) == key]
        what = f"key {key[:60]!r} ({len(key.encode())} bytes), records {values!r}"
        assert len(done) + len(mine) == count, f"{what}: {len(done)} processed + {len(mine)} dead letters"
        assert key not in usable or done[-1:] == [markers[key]], (
            f"{what}: the last, valid record not processed"
        )
        assert Counter((m["valueBytes"], m["value"]) for m in mine) <= Counter(map(letter_value, values)), (
            f"{what}: dead letters that match no record: {mine}"
        )
    probe.alive(f"{feed!r} records {records!r}")


@pytest.mark.xfail(
    strict=True,
    reason="Restate 1.7.12 retries a record whose key is not UTF-8 forever and stops its partition "
    "before any handler runs (restatedev/restate#4682); the README says how to get past one",
)
def test_a_record_key_that_is_not_utf8_does_not_stop_its_topic(
    probe: Probe, letters: LetterBox, kafka: KafkaBroker
) -> None:
    """A subscription of its own to ``UserFeed``: a key Restate cannot read must not hold up the rest."""
    topic = f"hostile-keys-{time.time_ns()}"
    kafka.create_topics([topic])
    probe.admin.subscribe(f"kafka://my-cluster/{topic}", POSTS.sink, {"auto.offset.reset": "earliest"})
    main, marker = f"after-{time.time_ns()}", f"valid-{time.time_ns()}"
    valid = json.dumps(FEEDS[0].valid(marker)).encode()
    try:
        produce(letters.producer, topic, [(b"\xff\xfe-not-utf8", valid), (main.encode(), valid)])
        deadline = time.monotonic() + 10  # a valid record alone comes through in well under a second
        while processed(probe, FEEDS[0], main) != [marker]:
            assert time.monotonic() < deadline, (
                f"the record after a non-UTF-8 key never came through ({topic})"
            )
            time.sleep(0.2)
    finally:
        for subscription in probe.admin.subscriptions():
            if subscription["source"].endswith(f"/{topic}"):
                probe.admin.http.delete(f"/subscriptions/{subscription['id']}")
