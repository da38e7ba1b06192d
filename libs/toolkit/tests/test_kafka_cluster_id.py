"""The test broker's cluster id never holds a ``-``: ``StorageTool format -t <id>`` would read an id
starting with one as an option, and one random id in 64 used to start with it."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator

import pytest

from toolkit.infra import kafka

LEADING = bytes([0xF8]) + bytes(15)  # base64 "-AAAA..."
INSIDE = bytes([0, 0, 0x3E]) + bytes(13)  # base64 "AAA-AAAA..."
CLEAN = bytes(range(16))


def uuids(*raw: bytes) -> Iterator[uuid.UUID]:
    yield from (uuid.UUID(bytes=value) for value in raw)


def test_an_id_with_a_dash_is_drawn_again(monkeypatch: pytest.MonkeyPatch) -> None:
    draws = uuids(LEADING, INSIDE, CLEAN)
    monkeypatch.setattr(uuid, "uuid4", lambda: next(draws))
    assert base64.urlsafe_b64encode(LEADING).startswith(b"-")
    assert kafka.cluster_id() == base64.urlsafe_b64encode(CLEAN).rstrip(b"=").decode()


def test_ids_are_22_characters_of_url_safe_base64_without_a_dash() -> None:
    ids = {kafka.cluster_id() for _ in range(2000)}
    assert len(ids) == 2000
    assert all(len(i) == 22 and "-" not in i and "=" not in i for i in ids)
    assert all(len(base64.urlsafe_b64decode(i + "==")) == 16 for i in ids)
