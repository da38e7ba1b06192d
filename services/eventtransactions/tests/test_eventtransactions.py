"""UserFeed fed by a real Kafka broker through a real Restate server: order, isolation, poison
records, crashes. The fake social-media API's ledger shows what the outside world saw."""

from __future__ import annotations

import json

import pytest
from eventtransactions.service import POSTS

from common.fakes.ledger import Effect
from common.ingress import Admin, Ingress
from toolkit.infra.kafka import KafkaBroker
from toolkit.producer import dead_letters, produce
from toolkit.testing import Harness, ServiceHandle
from toolkit.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.kafka]

STUCK = "stuck in review"
# Posts are approved at the first check, except STUCK ones, which stay pending until cancelled.
FAST = {
    "EVENTTRANSACTIONS_POLL_SECONDS": "0.2",
    "EVENTTRANSACTIONS_PENDING__MODE": "match",
    "EVENTTRANSACTIONS_PENDING__MATCH": json.dumps([STUCK]),
}
# Every post is pending for its first two checks: each one sleeps durably twice.
SLOW = {
    "EVENTTRANSACTIONS_POLL_SECONDS": "0.5",
    "EVENTTRANSACTIONS_PENDING__MODE": "first",
    "EVENTTRANSACTIONS_PENDING__FIRST": "2",
}


def start(harness: Harness, env: dict[str, str] = FAST) -> ServiceHandle:
    service = harness.service("eventtransactions", **env)
    harness.subscribe(POSTS)
    return service


def post(content: str) -> str:
    return json.dumps({"content": content, "metadata": "public"})


def created(service: ServiceHandle, user: str) -> list[Effect]:
    return [e for e in service.ledger.effects("socialmedia", "create-post") if e.request["user"] == user]


def fed(service: ServiceHandle, user: str) -> list[Effect]:
    return [e for e in service.ledger.effects("socialmedia", "update-feed") if e.request["user"] == user]


def wait_for_feed(service: ServiceHandle, user: str, count: int, timeout: float = 60) -> list[Effect]:
    def enough() -> list[Effect] | None:
        updates = fed(service, user)
        return updates if len(updates) >= count else None

    return wait_until(enough, timeout=timeout, what=f"{count} feed updates of {user}")


def assert_exactly_once_in_order(service: ServiceHandle, user: str, contents: list[str]) -> None:
    posts = created(service, user)
    assert [e.request["content"] for e in posts] == contents
    assert [e.key for e in fed(service, user)] == [e.result for e in posts]  # each post id fed once


def test_posts_of_one_user_complete_one_at_a_time_in_produced_order(
    harness: Harness, kafka: KafkaBroker, unique: str
) -> None:
    service = start(harness)
    contents = [f"post {n}" for n in range(5)]
    produce(kafka.bootstrap, POSTS.topic, [(unique, post(c)) for c in contents])
    updates = wait_for_feed(service, unique, len(contents))
    assert_exactly_once_in_order(service, unique, contents)
    # Not just ordered at the end: a post is created only after the previous one reached the feed.
    for previous, following in zip(updates, created(service, unique)[1:], strict=False):
        assert following.at >= previous.at


def test_a_post_stuck_in_review_holds_up_only_its_own_user(
    harness: Harness, kafka: KafkaBroker, admin: Admin, unique: str
) -> None:
    service = start(harness)
    alice, bob = f"{unique}-alice", f"{unique}-bob"
    records = [(alice, post(STUCK)), (alice, post("alice 2")), (bob, post("bob 1")), (bob, post("bob 2"))]
    assert {partition for _, partition, _ in produce(kafka.bootstrap, POSTS.topic, records)} == {0}
    wait_for_feed(service, bob, 2)
    assert_exactly_once_in_order(service, bob, ["bob 1", "bob 2"])
    # Alice's first post is still polled (with durable sleeps between checks); her second waits.
    (stuck,) = created(service, alice)
    check = f"{stuck.result}/3"
    wait_until(lambda: service.ledger.attempts("moderation", "status", check), timeout=30, what=check)
    assert fed(service, alice) == []
    rows = admin.query(
        "SELECT id FROM sys_invocation WHERE target_service_name = 'UserFeed' "
        f"AND target_service_key = '{alice}' AND status <> 'completed' ORDER BY created_at"
    )
    assert len(rows) == 2
    admin.cancel(rows[0]["id"])  # the operator gives up on the stuck post: Alice's next one runs
    wait_for_feed(service, alice, 1)
    assert [e.request["content"] for e in created(service, alice)] == [STUCK, "alice 2"]
    assert [e.key for e in fed(service, alice)] == [created(service, alice)[1].result]


def test_poison_records_go_to_the_dead_letter_topic_and_the_key_goes_on(
    harness: Harness, kafka: KafkaBroker, unique: str
) -> None:
    service = start(harness)
    records = [(unique, "not json {"), (unique, '{"content": 1}'), (unique, post("after the poison"))]
    offsets = [offset for _, _, offset in produce(kafka.bootstrap, POSTS.topic, records)]
    wait_for_feed(service, unique, 1)
    assert_exactly_once_in_order(service, unique, ["after the poison"])
    letters = [letter for letter in dead_letters(kafka.bootstrap, POSTS) if letter["key"] == unique]
    assert [letter["value"] for letter in letters] == ["not json {", '{"content": 1}']
    assert "not valid JSON" in letters[0]["reason"]
    assert "content: Input should be a valid string; metadata: Field required" in letters[1]["reason"]
    assert [letter["kafka.offset"] for letter in letters] == [str(o) for o in offsets[:2]]
    assert {letter["kafka.topic"] for letter in letters} == {POSTS.topic}


def test_bad_input_over_http_is_a_400_and_no_dead_letter(
    harness: Harness, kafka: KafkaBroker, ingress: Ingress, unique: str
) -> None:
    service = start(harness)
    response = ingress.raw("UserFeed", "ProcessPost", b'{"content": "x"}', key=unique, timeout=10)
    assert response.status_code == 400, response.text
    assert "metadata: Field required" in response.json()["message"]
    assert created(service, unique) == []
    assert not [letter for letter in dead_letters(kafka.bootstrap, POSTS) if letter["key"] == unique]


@pytest.mark.crash
def test_killing_the_service_mid_post_keeps_its_post_id(
    harness: Harness, kafka: KafkaBroker, unique: str
) -> None:
    service = start(harness, SLOW)
    produce(kafka.bootstrap, POSTS.topic, [(unique, post("hello"))])
    wait_until(lambda: created(service, unique), timeout=60, what="the post to be created")
    service.kill()
    service.restart()
    wait_for_feed(service, unique, 1)
    assert_exactly_once_in_order(service, unique, ["hello"])
    (created_post,) = created(service, unique)
    assert service.ledger.attempts("socialmedia", "create-post", created_post.key) == 1


@pytest.mark.crash
def test_restarting_the_server_mid_stream_loses_and_duplicates_nothing(
    harness: Harness, kafka: KafkaBroker, unique: str
) -> None:
    service = start(harness, SLOW)
    users = [f"{unique}-{n}" for n in range(4)]
    contents = {user: [f"{user} #{n}" for n in range(4)] for user in users}
    produce(kafka.bootstrap, POSTS.topic, [(u, post(c)) for u in users for c in contents[u][:2]])
    wait_until(lambda: any(fed(service, u) for u in users), timeout=60, what="the first feed update")
    harness.server.restart(crash=True)
    produce(kafka.bootstrap, POSTS.topic, [(u, post(c)) for u in users for c in contents[u][2:]])
    for user in users:
        wait_for_feed(service, user, 4, timeout=90)
        assert_exactly_once_in_order(service, user, contents[user])
