"""The strict input serde: bad input becomes a message naming the field, never an exception."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ConfigDict

from common.handlers import InvalidInput, StrictSerde


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    count: int


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"", "request body is empty"),
        (b"{", "not valid JSON"),
        (b'{"name": "a"}', "count: Field required"),
        (b'{"name": "a", "count": "x"}', "count: Input should be a valid integer"),
        (b'{"name": "a", "count": 1, "other": 2}', "other: Extra inputs are not permitted"),
    ],
)
def test_strict_serde_turns_bad_input_into_a_message(body: bytes, expected: str) -> None:
    result = StrictSerde(Item).deserialize(body)
    assert isinstance(result, InvalidInput)
    assert expected in result.message


def test_strict_serde_round_trips_valid_input() -> None:
    serde = StrictSerde(Item)
    item = serde.deserialize(b'{"name": "a", "count": 2}')
    assert item == Item(name="a", count=2)
    assert serde.deserialize(serde.serialize(item)) == item
    assert StrictSerde(str).deserialize(b'"x@example.com"') == "x@example.com"
