"""The "no wedge" checker: whatever a request holds, it is answered fast and leaves nothing stuck.

For one hostile request to a handler, ``Probe.check`` asserts, in this order:

1. an answer within ``ANSWER_SECONDS``: 2xx or 4xx, never 5xx, never a timeout;
2. no invocation of the pattern's services retried (a ``TransientError`` in its journal),
   backing off, paused, or still in flight after ``SETTLE_SECONDS``;
3. for a refused request (4xx): the key's state and the fakes' ledgers (effects *and* attempts)
   unchanged, and every call or send its invocation started refused too;
4. every service process of the pattern alive;
5. a normal call on the same key works right after (the key is not wedged).
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote_to_bytes

import httpx
import pytest

from common.ingress import Admin, Ingress, RestateHttpError
from toolkit.testing import ServiceHandle

from .strategies import KEY_LIMIT, Key, Request, edges

LIVE: list[Probe] = []  # released after each test (see conftest)
ANSWER_SECONDS = float(os.environ.get("HOSTILE_ANSWER_SECONDS", "5"))
SETTLE_SECONDS = float(os.environ.get("HOSTILE_SETTLE_SECONDS", "5"))
Call = tuple[str, Any]  # (handler, JSON body or None for a handler without input)


@dataclass(frozen=True)
class Target:
    """One handler, its real body, and the valid calls that ready a key and prove it still works."""

    service: str
    handler: str
    valid: Any = None  # None: the handler takes no input
    keyed: bool = False
    prepare: tuple[Call, ...] = ()  # on the same key, before the hostile request
    follow_up: tuple[Call, ...] | None = None  # default: the handler itself with its valid body
    tolerated: frozenset[int] = frozenset()  # e.g. 409: a workflow's Run already ran for this id
    sign: Any = None  # bytes -> extra headers of a valid call (webhook signatures)
    cleanup: Any = None  # (probe, key, response) -> None, after a 2xx: cancel what it scheduled

    def __repr__(self) -> str:
        return f"{self.service}/{self.handler}"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # how hypothesis prints it
        printer.text(repr(self))


def segment(key: str) -> str:
    """A key as one path segment (dots too, or an HTTP client would resolve ``..``)."""
    return quote(key, safe="").replace(".", "%2E")


def decoded(key: Key) -> str | None:
    """The key Restate sees for ``key``, or ``None`` if the path cannot carry one."""
    if not key.raw:
        return key.text
    if "/" in key.text:
        return None
    try:
        return unquote_to_bytes(key.text).decode("utf-8")
    except UnicodeDecodeError:
        return None


def stamp(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def ledger_fingerprint(handle: ServiceHandle) -> tuple[int, int]:
    """(effects, attempts) of a service's fakes: a refused request adds neither."""
    if not handle.ledger_path.exists():
        return (0, 0)
    with sqlite3.connect(handle.ledger_path, timeout=30) as db:
        effects = db.execute("SELECT count(*) FROM effects").fetchone()[0]
        attempts = db.execute("SELECT coalesce(sum(count), 0) FROM attempts").fetchone()[0]
    return int(effects), int(attempts)


@dataclass
class Probe:
    """Checks requests to the handlers of one or more patterns, whose processes are ``handles``."""

    ingress: Ingress
    admin: Admin
    handles: list[ServiceHandle]
    services: tuple[str, ...]  # every Restate service of the pattern(s): their invocations are watched
    counter: int = 0
    since: float = field(default_factory=time.time)  # invocations created before are not ours

    def __post_init__(self) -> None:
        LIVE.append(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(f"Probe({', '.join(self.services)})")

    def release(self) -> None:
        """Kill what a failed example left in flight, so that it holds up no later test."""
        names = ", ".join(f"'{s}'" for s in self.services)
        rows = self.admin.query(
            f"SELECT id FROM sys_invocation WHERE target_service_name IN ({names})"
            f" AND created_at >= '{stamp(self.since)}' AND status NOT IN ('completed', 'scheduled')"
        )
        for row in rows:
            with contextlib.suppress(RestateHttpError):
                self.admin.kill(row["id"])

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
        return self.ingress.http.post(path, content=body, headers=headers, timeout=ANSWER_SECONDS)

    def valid_call(self, target: Target, key: str | None, handler: str, body: Any) -> httpx.Response:
        data = b"" if body is None else json.dumps(body).encode()
        headers = {} if body is None else {"content-type": "application/json"}
        headers.update(target.sign(data) if target.sign else {})
        path = (
            f"/{target.service}/{segment(key)}/{handler}"
            if key is not None
            else f"/{target.service}/{handler}"
        )
        return self.post(path, data, headers)

    def works(self, target: Target, key: str | None, calls: tuple[Call, ...], what: str) -> None:
        for handler, body in calls:
            wall, started = time.time(), time.monotonic()
            try:
                response = self.valid_call(target, key, handler, body)
            except httpx.TimeoutException:
                raise AssertionError(f"{what}: valid {handler} on key {key!r} got no answer") from None
            ok = response.is_success or response.status_code in target.tolerated
            took = time.monotonic() - started
            assert ok, f"{what}: valid {handler} on key {key!r}: {response.status_code} {response.text[:300]}"
            assert took < ANSWER_SECONDS, f"{what}: valid {handler} took {took:.1f}s"
            self.settled(f"{what}: after valid {handler}", wall)

    def snapshot(self, target: Target, key: str | None) -> tuple[Any, ...]:
        state = self.admin.state(target.service, key) if key is not None else None
        return (state, [ledger_fingerprint(h) for h in self.handles])

    def settled(self, what: str, since: float) -> None:
        """Nothing of the watched services is in flight, and nothing retried since ``since``."""
        names = ", ".join(f"'{s}'" for s in self.services)
        watched = f"i.target_service_name IN ({names}) AND i.created_at >= '{stamp(self.since)}'"
        deadline = time.monotonic() + SETTLE_SECONDS
        while True:
            rows = self.admin.query(
                "SELECT i.id, i.target, i.status, i.retry_count, i.last_failure FROM sys_invocation i"
                f" WHERE {watched} AND i.status NOT IN ('completed', 'scheduled')"
            )
            stuck = [r for r in rows if r["status"] in ("backing-off", "paused") or r.get("last_failure")]
            if stuck or not rows or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        retried = self.admin.query(
            "SELECT e.id, i.target, e.event_json FROM sys_journal_events e"
            " JOIN sys_invocation i ON e.id = i.id"
            f" WHERE e.event_type = 'TransientError' AND e.appended_at >= '{stamp(since)}' AND {watched}"
        )
        assert not stuck, f"{what}\nstuck: {_rows(stuck)}"
        assert not retried, f"{what}\nretried: {_rows(retried)}"
        assert not rows, f"{what}\nstill in flight after {SETTLE_SECONDS}s: {_rows(rows)}"

    def alive(self, what: str) -> None:
        for handle in self.handles:
            assert handle.process.alive(), f"{what}: service {handle.name} died:\n{handle.process.tail(30)}"

    def check(self, target: Target, request: Request) -> None:
        self.counter += 1
        own = f"hostile-{os.getpid()}-{time.time_ns()}-{self.counter}" if target.keyed else None
        key = decoded(request.key) if request.key is not None else own
        if request.key is None or not target.keyed:
            where = (
                f"/{target.service}/{segment(own)}/{target.handler}"
                if own
                else f"/{target.service}/{target.handler}"
            )
        else:
            text = request.key.text if request.key.raw else segment(request.key.text)
            where = f"/{target.service}/{text}/{target.handler}"
        usable = key is not None and len(key.encode()) <= KEY_LIMIT
        what = f"{target!r} {request!r} -> POST {where[:200]}"
        if target.prepare and usable:
            self.works(target, key, target.prepare, f"{what} (preparing the key)")
        before = self.snapshot(target, key)
        headers = dict(request.headers)
        if request.content_type is not None:
            headers["content-type"] = request.content_type
        wall, started = time.time(), time.monotonic()
        try:
            response = self.post(where, request.body, headers)
        except httpx.TimeoutException:
            raise AssertionError(f"{what}: no answer within {ANSWER_SECONDS}s") from None
        took = time.monotonic() - started
        answer = f"{what}: answered {response.status_code} in {took:.2f}s: {response.text[:400]}"
        assert response.is_success or 400 <= response.status_code < 500, answer
        if response.is_success and target.cleanup is not None:
            target.cleanup(self, key, response)
        self.settled(answer, wall)
        if not response.is_success:
            assert self.snapshot(target, key) == before, f"{answer}\nbut the state or a ledger changed"
            invocation = response.headers.get("x-restate-id")
            if invocation:
                took_effect = self.admin.query(
                    "SELECT target, status, completion_result FROM sys_invocation"
                    f" WHERE invoked_by_id = '{invocation}' AND created_at >= '{stamp(wall)}'"
                    " AND (completion_result IS NULL OR completion_result != 'failure')"
                )
                assert not took_effect, f"{answer}\nbut what it started went on: {_rows(took_effect)}"
        self.alive(answer)
        follow_up = target.follow_up if target.follow_up is not None else ((target.handler, target.valid),)
        if not usable and target.prepare:
            self.works(target, own, target.prepare, f"{answer}\n(preparing the test's own key)")
        self.works(target, key if usable else own, follow_up, answer)
        self.alive(answer)


def _rows(rows: list[dict[str, Any]]) -> str:
    return "; ".join(", ".join(f"{k}={str(v)[:300]!r}" for k, v in row.items()) for row in rows[:5])


def edge_cases(targets: list[Target]) -> list[Any]:
    """``(target, request)`` parameters: the edge requests of every target."""
    return [
        pytest.param(t, r, id=f"{t!r}-{i}") for t in targets for i, r in enumerate(edges(t.valid, t.keyed))
    ]


def release_all() -> None:
    while LIVE:
        LIVE.pop().release()
