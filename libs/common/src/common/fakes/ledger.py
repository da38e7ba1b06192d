"""The effects ledger: what the fake external systems did, keyed by idempotency key.

Each thread keeps one connection to the file (opening one per call cost more than the query),
in WAL mode with ``synchronous=NORMAL``: a write that returned survives a crash of the process,
which is what the crash tests do; only a crash of the whole machine could lose the last ones.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS effects (
    api TEXT NOT NULL, op TEXT NOT NULL, key TEXT NOT NULL,
    request TEXT NOT NULL, result TEXT NOT NULL, at REAL NOT NULL,
    PRIMARY KEY (api, op, key)
);
CREATE TABLE IF NOT EXISTS attempts (
    api TEXT NOT NULL, op TEXT NOT NULL, key TEXT NOT NULL, count INTEGER NOT NULL,
    first_at REAL NOT NULL, last_at REAL NOT NULL,
    PRIMARY KEY (api, op, key)
);
"""


@dataclass(frozen=True)
class Effect:
    api: str
    op: str
    key: str
    request: Any
    result: Any
    at: float


class Ledger:
    """A SQLite file shared by the service (writer) and tests or tools (readers)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        db = self._connect()
        db.execute("PRAGMA journal_mode=WAL")
        db.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        """This thread's connection (autocommit: every statement is its own transaction)."""
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
        return db

    def count_attempt(self, api: str, op: str, key: str) -> int:
        """Record one more attempt of ``(api, op, key)``; returns its 1-based number."""
        db = self._connect()
        now = time.time()
        row = db.execute(
            "INSERT INTO attempts VALUES (?, ?, ?, 1, ?, ?) ON CONFLICT (api, op, key) "
            "DO UPDATE SET count = count + 1, last_at = excluded.last_at RETURNING count",
            (api, op, key, now, now),
        ).fetchall()[0]  # stepped to the end: the write is committed before we go on
        return int(row[0])

    def find(self, api: str, op: str, key: str) -> Effect | None:
        db = self._connect()
        row = db.execute(
            "SELECT api, op, key, request, result, at FROM effects WHERE api=? AND op=? AND key=?",
            (api, op, key),
        ).fetchone()
        return _effect(row) if row else None

    def record(self, api: str, op: str, key: str, request: Any, result: Any) -> Effect:
        """Write the effect unless the key already has one; returns the effect that stands."""
        db = self._connect()
        db.execute(
            "INSERT OR IGNORE INTO effects VALUES (?, ?, ?, ?, ?, ?)",
            (api, op, key, json.dumps(request), json.dumps(result), time.time()),
        )
        found = self.find(api, op, key)
        assert found is not None
        return found

    def effects(self, api: str | None = None, op: str | None = None) -> list[Effect]:
        """Effects in the order they happened, optionally of one API and operation."""
        sql = "SELECT api, op, key, request, result, at FROM effects WHERE 1=1"
        args: list[str] = []
        if api is not None:
            sql += " AND api=?"
            args.append(api)
        if op is not None:
            sql += " AND op=?"
            args.append(op)
        db = self._connect()
        return [_effect(row) for row in db.execute(sql + " ORDER BY at, rowid", args)]

    def attempts(self, api: str, op: str, key: str) -> int:
        """How many times ``(api, op, key)`` was tried, failed attempts included."""
        db = self._connect()
        row = db.execute(
            "SELECT count FROM attempts WHERE api=? AND op=? AND key=?", (api, op, key)
        ).fetchone()
        return int(row[0]) if row else 0

    def first_attempt_at(self, api: str, op: str, key: str) -> float | None:
        """Wall-clock time of the first attempt, or None if there was none."""
        db = self._connect()
        row = db.execute(
            "SELECT first_at FROM attempts WHERE api=? AND op=? AND key=?", (api, op, key)
        ).fetchone()
        return float(row[0]) if row else None


def _effect(row: tuple[Any, ...]) -> Effect:
    return Effect(row[0], row[1], row[2], json.loads(row[3]), json.loads(row[4]), row[5])
