"""Pure pieces of libs/common: failure policies, strict input, keys, the ledger, settings, waiting."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

from common.bench import percentile
from common.fakes import Ledger
from common.faults import FailurePolicy
from common.handlers import InvalidInput, StrictSerde
from common.infra.keys import base58, ensure_keypair
from common.infra.paths import free_port
from common.settings import ServiceSettings, port_field, service_config
from common.waiting import GiveUp, Timeout, wait_until


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    count: int


def test_failure_policy_modes() -> None:
    assert not FailurePolicy().fails(key="k", attempt=1)
    first = FailurePolicy(mode="first", first=2)
    assert [first.fails(key="k", attempt=n) for n in (1, 2, 3)] == [True, True, False]
    match = FailurePolicy(mode="match", match=["4000"])
    assert match.fails(key="k", attempt=9, subject="4000")
    assert not match.fails(key="k", attempt=1, subject="4242")


def test_random_failures_are_reproducible_and_near_the_rate() -> None:
    policy = FailurePolicy(mode="random", rate=0.4, seed=7)
    draws = [policy.fails(key=f"k{i}", attempt=1) for i in range(2000)]
    assert draws == [policy.fails(key=f"k{i}", attempt=1) for i in range(2000)]
    assert 0.35 < sum(draws) / len(draws) < 0.45
    other_seed = FailurePolicy(mode="random", rate=0.4, seed=8)
    assert draws != [other_seed.fails(key=f"k{i}", attempt=1) for i in range(2000)]


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


def test_base58_matches_known_vectors() -> None:
    assert base58(b"") == ""
    assert base58(b"\0\0\x01") == "112"
    assert base58(b"hello world") == "StV1DL6CwTryKyV"


def test_keypair_is_made_once_and_reused(tmp_path: Path) -> None:
    pem, identity = ensure_keypair(tmp_path)
    assert identity.startswith("publickeyv1_")
    assert ensure_keypair(tmp_path) == (pem, identity)


def test_ledger_records_an_effect_once_per_key(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.sqlite")
    assert ledger.count_attempt("api", "op", "k") == 1
    assert ledger.count_attempt("api", "op", "k") == 2
    first = ledger.record("api", "op", "k", {"a": 1}, "one")
    again = ledger.record("api", "op", "k", {"a": 2}, "two")
    assert again == first
    assert [e.result for e in Ledger(tmp_path / "l.sqlite").effects("api")] == ["one"]
    assert ledger.attempts("api", "op", "k") == 2


class DemoSettings(ServiceSettings):
    model_config = service_config("DEMO_")
    port: int = port_field(9999)
    delay: float = 1.5


def test_settings_read_shared_and_prefixed_env(monkeypatch: pytest.MonkeyPatch) -> None:
    assert DemoSettings().port == 9999
    monkeypatch.setenv("PORT", "1234")
    monkeypatch.setenv("DEMO_DELAY", "0.2")
    monkeypatch.setenv("DEMO_FAILURE__MODE", "first")
    monkeypatch.setenv("DEMO_FAILURE__FIRST", "3")
    monkeypatch.setenv("RESTATE_IDENTITY_KEYS", "publickeyv1_a, publickeyv1_b")
    settings = DemoSettings()
    assert (settings.port, settings.delay) == (1234, 0.2)
    assert settings.failure == FailurePolicy(mode="first", first=3)
    assert settings.identity_keys == ["publickeyv1_a", "publickeyv1_b"]


def test_free_ports_are_distinct_bindable_and_never_ephemeral() -> None:
    low, high = (int(n) for n in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    ports = [free_port() for _ in range(50)]
    assert len(set(ports)) == 50
    assert not [port for port in ports if low <= port <= high]  # no outgoing connection can take one
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", ports[-1]))


def test_wait_until_retries_errors_but_stops_at_once_on_give_up() -> None:
    calls: list[int] = []

    def flaky() -> int | None:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("not yet")
        return len(calls)

    def down() -> None:
        raise ConnectionError("not yet")

    def exited() -> None:
        raise GiveUp("the process exited")

    assert wait_until(flaky, timeout=5, interval=0) == 3
    with pytest.raises(Timeout, match=r"waiting for the server .*not yet"):
        wait_until(down, timeout=0.1, what="the server")
    started = time.monotonic()
    with pytest.raises(GiveUp, match="exited"):
        wait_until(exited, timeout=30)
    assert time.monotonic() - started < 5


def test_percentiles_are_nearest_rank() -> None:
    values = [float(n) for n in range(1, 101)]
    assert [percentile(values, f) for f in (0.01, 0.5, 0.95, 0.99, 1.0)] == [1, 50, 95, 99, 100]
    assert percentile([7.0], 0.99) == 7.0
    assert [percentile([1.0, 2.0, 3.0, 4.0], f) for f in (0.5, 0.75, 0.76)] == [2, 3, 4]
