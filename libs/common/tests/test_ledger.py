"""The fakes' ledger: one effect per key, attempts counted."""

from __future__ import annotations

from pathlib import Path

from common.fakes import Ledger


def test_ledger_records_an_effect_once_per_key(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.sqlite")
    assert ledger.count_attempt("api", "op", "k") == 1
    assert ledger.count_attempt("api", "op", "k") == 2
    first = ledger.record("api", "op", "k", {"a": 1}, "one")
    again = ledger.record("api", "op", "k", {"a": 2}, "two")
    assert again == first
    assert [e.result for e in Ledger(tmp_path / "l.sqlite").effects("api")] == ["one"]
    assert ledger.attempts("api", "op", "k") == 2
