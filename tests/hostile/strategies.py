"""Hostile input for any handler: random JSON, near-valid bodies, odd content types and keys.

Bodies are built as JSON *text*, so they can hold what ``json.dumps`` never writes: ``NaN``,
``1e999``, integers of thousands of digits, lone surrogates (``"\\ud800"``), nesting deeper than
any parser allows, bytes that are not UTF-8.

    near_valid(valid)   the handler's real body with one value replaced by a hostile one,
                        or one field added / removed / repeated
    bodies(valid)       that, or random JSON of any shape, or odd raw bytes (empty, not UTF-8,
                        over 1 MiB); ``valid=None`` is a handler without input
    requests(valid)     a body with a content type, maybe odd headers, maybe an odd key
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

MAX_BODY = 1024 * 1024
KEY_LIMIT = 4096
HOLE = "\x00hostile\x00"  # stands for the hostile fragment while the valid body is serialized

# -- JSON of every shape -------------------------------------------------------------------
leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
dumped = st.builds(json.dumps, json_values, ensure_ascii=st.booleans())


def _nest(depth: int, kind: str) -> str:
    return "[" * depth + "]" * depth if kind == "[" else '{"a":' * depth + "0" + "}" * depth


_LENGTHS = [0, 254, 255, 4096, 4097, 65536, 300_000, MAX_BODY + 1]
fragments = st.one_of(
    dumped,
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "1E+400", "-0", "1e-400", "5e-324"]),
    st.sampled_from(['"NaN"', '"nan"', '"inf"', '"-Infinity"', '"1e999"', '" +inf "', '"Infinity"']),
    st.integers(min_value=28, max_value=34).map(lambda n: "9" * n),
    st.sampled_from([309, 4300, 4301, 20_000]).flatmap(lambda n: st.sampled_from(["9" * n, "-" + "9" * n])),
    (st.integers(10**29, 10**40) | st.integers(-(10**40), -(10**29))).map(lambda n: json.dumps(str(n))),
    st.integers(max_value=-1).flatmap(lambda n: st.sampled_from([str(n), json.dumps(str(n))])),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(
        ['"\\ud800"', '"x\\udfff"', '"\\ud83d"', '"\\udc00\\ud800"', '{"\\ud800": 1}', '["\\udfff"]']
    ),
    st.tuples(st.sampled_from(_LENGTHS), st.sampled_from(["x", "é", "😀", ",", " ", "\\u0000"])).map(
        lambda t: '"' + t[1] * t[0] + '"'
    ),
    st.tuples(st.sampled_from([63, 64, 65, 1000, 100_000]), st.sampled_from("[{")).map(lambda t: _nest(*t)),
    st.sampled_from(["null", "true", "[]", "{}", '""', '"\\u0000"', "0", '{"a": [1, {"b": null}]}']),
    st.sampled_from(
        ['"0001-01-01T00:00:00+23:59"', '"9999-12-31T23:59:59.999999-23:59"', '"9999-12-31"', '"2024-02-30"']
    ),
)


def _paths(value: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [here]
    if isinstance(value, dict):
        for k, v in value.items():
            found += _paths(v, (*here, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += _paths(v, (*here, i))
    return found


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copy: Any = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = _replace(copy[path[0]], path[1:], new)
    return copy


def _with_hole(valid: Any, path: tuple[Any, ...], fragment: str) -> str:
    return json.dumps(_replace(valid, path, HOLE)).replace(json.dumps(HOLE), fragment)


@st.composite
def near_valid(draw: st.DrawFn, valid: Any) -> bytes:
    """The valid body with one value replaced, or a field added, removed or repeated."""
    paths = _paths(valid)
    objects = [p for p in paths if isinstance(_get(valid, p), dict)]
    how = draw(st.sampled_from(["replace", "replace", "replace", "add", "drop", "repeat"]))
    if how == "replace" or not objects:
        return _with_hole(valid, draw(st.sampled_from(paths)), draw(fragments)).encode()
    where = draw(st.sampled_from(objects))
    target = _get(valid, where)
    if how == "drop" and target:
        gone = draw(st.sampled_from(sorted(target)))
        return json.dumps(_replace(valid, where, {k: v for k, v in target.items() if k != gone})).encode()
    names = st.text(max_size=12) | st.sampled_from(["\ud800", "\udfff", "k" * 70_000])
    name = draw(st.sampled_from(sorted(target)) if how == "repeat" and target else names)
    text = json.dumps(_replace(valid, where, {**target, HOLE: 0}))
    return text.replace(f"{json.dumps(HOLE)}: 0", f"{json.dumps(name)}: {draw(fragments)}").encode()


def _get(value: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        value = value[part]
    return value


odd_bytes = st.one_of(
    st.sampled_from([b"", b"   ", b"\xff\xfe{}", b"\xef\xbb\xbf{}", b"{", b"}", b"\x00", b'{"a":1}{"a":2}']),
    st.binary(max_size=64),
    st.just(b'"' + b"x" * MAX_BODY + b'"'),  # one byte over with its quotes: 413
)


def bodies(valid: Any | None) -> st.SearchStrategy[bytes]:
    """Hostile bodies for a handler whose real body is ``valid`` (``None``: it takes no input)."""
    anything = st.one_of(dumped.map(str.encode), fragments.map(str.encode), odd_bytes)
    if valid is None:
        return anything
    real = json.dumps(valid).encode()
    glued = st.sampled_from([b"\xef\xbb\xbf" + real, real + b" trailing", real * 2, b" \n" + real + b"\t"])
    return st.one_of(near_valid(valid), near_valid(valid), near_valid(valid), anything, glued)


CONTENT_TYPES = [
    None,
    "",
    "text/plain",
    "application/json; charset=utf-8",
    "application/json; charset=latin1",
    "APPLICATION/JSON",
    "application/x-www-form-urlencoded",
    "application/octet-stream",
    "multipart/form-data; boundary=x",
    "application/json, text/plain",
    "application/" + "j" * 8000,
]
content_types = st.one_of(
    st.just("application/json"), st.just("application/json"), st.sampled_from(CONTENT_TYPES)
)

ascii_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40).map(str.strip)
KAFKA_CLAIMS = ["kafka.topic", "kafka.partition", "kafka.offset", "kafka.key", "restate.subscription.id"]
header_sets = st.one_of(
    st.just(()),
    st.just(()),
    st.lists(st.tuples(st.sampled_from(KAFKA_CLAIMS), ascii_text), max_size=5).map(tuple),
    st.tuples(st.tuples(st.just("idempotency-key"), ascii_text)),
    st.tuples(st.tuples(st.sampled_from(["x-restate-ingress-path", "x-restate-id"]), ascii_text)),
)


@dataclass(frozen=True)
class Key:
    """An object or workflow key; ``raw`` keys go into the path as they are, not percent-encoded."""

    text: str
    raw: bool = False

    def __repr__(self) -> str:
        size = len(self.text.encode())
        shown = self.text if size <= 80 else f"{self.text[:30]!r}+…({size} bytes)"
        return f"Key({shown!r}{', raw=True' if self.raw else ''})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # how hypothesis prints it
        printer.text(repr(self))


def sized_key(prefix: str, size: int, filler: str) -> str:
    """``prefix`` padded with ``filler`` (then ASCII) to exactly ``size`` bytes of UTF-8."""
    room = size - len(prefix.encode())
    width = len(filler.encode())
    return prefix + filler * (room // width) + "k" * (room % width)


def keys(prefix: str) -> st.SearchStrategy[Key]:
    bare = ["", " ", "/", "%", "%2F", "%00", ".", "..", "?a=1", "#", "\x00", "\n", "é", "😀"]
    raw = ["%ED%A0%80", "%FF", "%C0%AF", "a%2Fb", "%00", "..", "a/b", "%", "%%41"]
    sizes = st.tuples(st.sampled_from([4095, 4096, 4097, 8192, 61_440]), st.just("k")) | st.tuples(
        st.sampled_from([4095, 4096, 4097, 16_000]), st.sampled_from(["é", "€", "😀"])
    )
    return st.one_of(
        st.sampled_from(bare).map(Key),
        st.text(max_size=30).map(lambda t: Key(prefix + t)),
        st.sampled_from(raw).map(lambda t: Key(t, raw=True)),
        sizes.map(lambda s: Key(sized_key(prefix, *s))),
    )


@dataclass(frozen=True)
class Request:
    """One hostile request; ``key=None`` means the test's own key."""

    body: bytes
    content_type: str | None = "application/json"
    headers: tuple[tuple[str, str], ...] = ()
    key: Key | None = None

    def __repr__(self) -> str:
        body = self.body if len(self.body) <= 300 else self.body[:120] + b"..." + self.body[-40:]
        size = f" ({len(self.body)} bytes)" if len(self.body) > 300 else ""
        parts = [f"body={body!r}{size}", f"content_type={self.content_type!r}"]
        parts += [f"headers={self.headers!r}"] if self.headers else []
        parts += [f"key={self.key!r}"] if self.key is not None else []
        return f"Request({', '.join(parts)})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


def requests(valid: Any | None, key_prefix: str | None = None) -> st.SearchStrategy[Request]:
    """Hostile requests for a handler; with ``key_prefix``, a keyed one (object or workflow)."""
    plain = st.builds(Request, bodies(valid), content_types, header_sets)
    no_input = st.builds(Request, st.just(b""), st.sampled_from([None, "application/json"]), header_sets)
    choices = [plain, plain] + ([no_input] if valid is None else [])
    if key_prefix is not None:
        good = st.just(json.dumps(valid).encode() if valid is not None else b"")
        ctype = st.just("application/json" if valid is not None else None)
        odd_key = st.builds(Request, good, ctype, st.just(()), keys(key_prefix))
        choices += [odd_key, st.builds(Request, bodies(valid), content_types, header_sets, keys(key_prefix))]
    return st.one_of(choices)


EDGE = f"edge-{os.getpid()}-"  # keys of this run only: a workflow id runs once


def edges(valid: Any | None, keyed: bool) -> list[Request]:
    """The cases every run checks: a body one byte over 1 MiB, one bad value in a real body, deep
    nesting, and keys of exactly 4096 bytes (taken) and just over it (refused)."""
    real = json.dumps(valid).encode() if valid is not None else b""
    found = [Request(b'"' + b"x" * MAX_BODY + b'"'), Request(b"[" * 100_000 + b"]" * 100_000)]
    if valid is not None:
        leaf = _paths(valid)[-1]
        found += [Request(_with_hole(valid, leaf, bad).encode()) for bad in ("NaN", '"\\ud800"', "9" * 31)]
    if keyed:
        ctype = "application/json" if valid is not None else None
        sizes = [(4096, "k"), (4097, "k"), (4097, "é"), (61_440, "k")]
        found += [Request(real, ctype, key=Key(sized_key(EDGE, n, c))) for n, c in sizes]
    return found
