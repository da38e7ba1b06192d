"""No Kafka record can wedge a key: every record that cannot be read becomes a dead letter at once.

Records whose value only fails deep inside the parser (nesting, integers of thousands of digits,
lone surrogates, ``NaN``) and keys longer than the catalogue's limit go to ``<topic>.dlq``; the
next record of the same key is processed right after. Fails when the strict reader of
``common.strictjson`` or the key check of ``common.events`` is removed: the record's invocation
then retries forever and holds up its key.
"""

from __future__ import annotations

import json

import pytest
from eventtransactions.service import POSTS

from common.handlers import MAX_KEY_BYTES
from common.ingress import Admin
from toolkit.infra.kafka import KafkaBroker
from toolkit.producer import dead_letters, produce
from toolkit.testing import Harness, ServiceHandle
from toolkit.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.kafka]

FAST = {"EVENTTRANSACTIONS_POLL_SECONDS": "0.1", "EVENTTRANSACTIONS_PENDING__MODE": "off"}
POISON = {
    "deep": "[" * 50000,
    "huge-integer": '{"content": "x", "metadata": "m", "n": %s}' % ("9" * 5000),
    "surrogate": '{"content": "\\ud800", "metadata": "m"}',
    "nan": '{"content": "x", "metadata": NaN}',
}


def post(content: str) -> str:
    return json.dumps({"content": content, "metadata": "public"})


def fed(service: ServiceHandle, user: str) -> list[str]:
    created = {e.result: e.request["content"] for e in service.ledger.effects("socialmedia", "create-post")}
    updates = service.ledger.effects("socialmedia", "update-feed")
    return [created[e.key] for e in updates if e.request["user"] == user]


def letters_of(kafka: KafkaBroker, key: str, count: int) -> list[dict[str, object]]:
    def enough() -> list[dict[str, object]] | None:
        found = [letter for letter in dead_letters(kafka.bootstrap, POSTS) if letter["key"] == key]
        return found if len(found) >= count else None

    return wait_until(enough, timeout=60, what=f"{count} dead letters of {key[:40]}")


def test_records_that_fail_inside_the_parser_are_dead_letters(
    harness: Harness, kafka: KafkaBroker, admin: Admin, unique: str
) -> None:
    service = harness.service("eventtransactions", **FAST)
    harness.subscribe(POSTS)
    records = [(unique, value) for value in POISON.values()] + [(unique, post("after the poison"))]
    produce(kafka.bootstrap, POSTS.topic, records)
    wait_until(lambda: fed(service, unique) == ["after the poison"], timeout=60, what="the valid post fed")
    letters = letters_of(kafka, unique, len(POISON))
    reasons = [str(letter["reason"]) for letter in letters]
    assert "nested deeper" in reasons[0]
    assert "n: 5000 digits" in reasons[1]
    assert "content: not valid Unicode" in reasons[2]
    assert "metadata: non-finite" in reasons[3]
    stuck = admin.query(
        "SELECT id FROM sys_invocation WHERE target_service_name = 'UserFeed' "
        f"AND target_service_key = '{unique}' AND status != 'completed'"
    )
    assert stuck == []


def test_a_record_whose_key_is_too_long_is_a_dead_letter(
    harness: Harness, kafka: KafkaBroker, unique: str
) -> None:
    service = harness.service("eventtransactions", **FAST)
    harness.subscribe(POSTS)
    long_key = unique + "k" * (MAX_KEY_BYTES + 1 - len(unique))
    produce(kafka.bootstrap, POSTS.topic, [(long_key, post("too long")), (unique, post("fine"))])
    wait_until(lambda: fed(service, unique) == ["fine"], timeout=60, what="the post of the short key fed")
    [letter] = letters_of(kafka, long_key, 1)
    assert f"longer than {MAX_KEY_BYTES}" in str(letter["reason"])
    assert fed(service, long_key) == []
