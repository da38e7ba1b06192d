"""The strict reader of untrusted JSON: every fault refused with its place, nothing else raised."""

from __future__ import annotations

import contextlib
import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, Field

from common import strictjson
from common.handlers import InvalidInput, StrictSerde
from common.strictjson import InputError, check_validated, read


class Booking(BaseModel):
    name: str
    amount: float
    limit: float = Field(1.0, allow_inf_nan=True)
    count: int = 0


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b'{"name": "\\ud800"}', ["name", "not valid Unicode"]),
        (b'{"\\udfff": 1}', ["\\udfff", "not valid Unicode"]),
        (b'{"a": [1, {"b": 1e999}]}', ["a.1.b", "non-finite"]),
        (b'{"a": -Infinity}', ["a", "non-finite"]),
        (b'{"a": NaN}', ["a", "non-finite"]),
        (b'{"a": %s}' % (b"1" * 31), ["a", "31 digits"]),
        (b"[" * 100000, ["nested deeper"]),
        (b"[" * 65 + b"]" * 65, ["nested deeper than 64"]),
        (b"\xff\xfe", ["not UTF-8"]),
        (b"{", ["not valid JSON"]),
    ],
)
def test_read_refuses_each_fault_where_it_is(body: bytes, words: list[str]) -> None:
    with pytest.raises(InputError) as caught:
        read(body)
    assert all(word in str(caught.value) for word in words), str(caught.value)
    json.dumps(str(caught.value), ensure_ascii=False).encode()  # the message itself can be sent


def test_read_takes_what_is_within_bounds() -> None:
    assert read(b"[" * 64 + b"]" * 64) is not None
    assert read(b'{"a": %s, "b": -1.5e300, "c": "\\u00e9"}' % (b"9" * 30)) == {
        "a": int("9" * 30),
        "b": -1.5e300,
        "c": "é",
    }


def test_an_oversized_body_is_a_413() -> None:
    with pytest.raises(InputError) as caught:
        read(b" " * (strictjson.MAX_BODY_BYTES + 1))
    assert caught.value.status == 413


def test_validated_values_are_checked_after_pydantics_lax_coercions() -> None:
    serde = StrictSerde(Booking)
    refused = serde.deserialize(b'{"name": "a", "amount": "1e999"}')
    assert isinstance(refused, InvalidInput) and "amount: non-finite" in refused.message
    refused = serde.deserialize(b'{"name": "a", "amount": 1, "count": "%s"}' % (b"9" * 40))
    assert isinstance(refused, InvalidInput) and "count" in refused.message
    accepted = serde.deserialize(b'{"name": "a", "amount": 1, "limit": "inf"}')
    assert isinstance(accepted, Booking) and math.isinf(accepted.limit)  # the field opted in


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(json_values)
def test_any_python_value_written_as_json_is_read_or_refused(value: object) -> None:
    body = json.dumps(value, allow_nan=True).encode("utf-8", "surrogatepass")
    try:
        result = read(body)
    except InputError:
        return
    json.dumps(result, allow_nan=False).encode()  # whatever is read can be written back
    check_validated(result)


@given(st.binary(max_size=200))
def test_any_bytes_are_read_or_refused(body: bytes) -> None:
    with contextlib.suppress(InputError):
        read(body)
