"""Request-signing keys: base58 as Restate reads it, a key pair made once."""

from __future__ import annotations

from pathlib import Path

from toolkit.infra.keys import base58, ensure_keypair


def test_base58_matches_known_vectors() -> None:
    assert base58(b"") == ""
    assert base58(b"\0\0\x01") == "112"
    assert base58(b"hello world") == "StV1DL6CwTryKyV"


def test_keypair_is_made_once_and_reused(tmp_path: Path) -> None:
    pem, identity = ensure_keypair(tmp_path)
    assert identity.startswith("publickeyv1_")
    assert ensure_keypair(tmp_path) == (pem, identity)
