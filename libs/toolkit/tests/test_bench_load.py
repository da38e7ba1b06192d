"""The benchmark's load generators against the floor served without Restate: h2load sends one
POST per URI (the direct server answers a GET with 405), statuses and latencies are counted, the
client's CPU is measured, and a server that is gone gives status 0 counts, not an exception."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from toolkit.bench.direct import NOOP_PATH, DirectServer
from toolkit.bench.load import ensure_h2load, generate, run_h2load, run_python
from toolkit.bench.model import Request
from toolkit.infra.paths import free_port

needs_h2load = pytest.mark.skipif(ensure_h2load() is None, reason="h2load is not available")


def noops(n: int, body: bytes = b"") -> list[Request]:
    """``n`` empty-body POSTs to the floor's handler, each on its own path (query string)."""
    return [Request(f"{NOOP_PATH}?i={i}", body=body) for i in range(n)]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[DirectServer]:
    direct = DirectServer(free_port(), tmp_path / "direct.log")
    direct.start()
    yield direct
    direct.stop()


@needs_h2load
def test_h2load_posts_each_uri_once(server: DirectServer, tmp_path: Path) -> None:
    load = run_h2load(server.url, noops(200), 8, tmp_path / "h2load")
    assert load.generator == "h2load"
    assert load.statuses == {200: 200}, load.errors  # a GET would be 405: the POST really went out
    assert len(load.latencies_ms) == 200 and min(load.latencies_ms) > 0
    assert load.seconds > 0 and load.client_cpu_seconds > 0
    assert load.errors == []
    with_body = [Request(NOOP_PATH, body=b'{"x": 1}', headers=(("content-type", "application/json"),))]
    assert run_h2load(server.url, with_body * 20, 4, tmp_path / "h2load").statuses == {200: 20}


@needs_h2load
def test_h2load_counts_other_statuses_and_refuses_mixed_batches(server: DirectServer, tmp_path: Path) -> None:
    load = run_h2load(server.url, [*noops(3), Request("/Nowhere")], 2, tmp_path)
    assert load.statuses == {200: 3, 404: 1} and len(load.latencies_ms) == 4
    get = run_h2load(server.url, [Request(NOOP_PATH, method="GET")] * 2, 2, tmp_path)
    assert get.statuses == {405: 2}
    with pytest.raises(ValueError, match="Python client"):
        run_h2load(server.url, [Request(NOOP_PATH), Request(NOOP_PATH, body=b"{}")], 2, tmp_path)
    with pytest.raises(ValueError):
        run_h2load(server.url, [Request(NOOP_PATH), Request(NOOP_PATH, method="PUT")], 2, tmp_path)


def test_python_client_keeps_answers_in_order(server: DirectServer) -> None:
    requests = [*noops(50), Request("/Nowhere")]
    load = asyncio.run(run_python(server.url, requests, 8))
    assert load.generator == "python"
    assert load.statuses == {200: 50, 404: 1}
    assert len(load.latencies_ms) == 51 and load.seconds > 0 and load.client_cpu_seconds > 0
    assert load.answers == [b"true"] * 50 + [b""]
    assert len(load.errors) == 1 and "404" in load.errors[0]
    assert asyncio.run(run_python(server.url, noops(3), 2, keep_answers=False)).answers is None


def test_generate_picks_the_python_client_when_it_must(
    server: DirectServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    answered = generate(server.url, noops(10), 4, tmp_path, need_answers=True)
    assert answered.generator == "python" and answered.answers == [b"true"] * 10
    mixed = generate(server.url, [Request(NOOP_PATH), Request(NOOP_PATH, body=b"{}")], 2, tmp_path)
    assert mixed.generator == "python" and mixed.ok == 2
    if ensure_h2load() is not None:
        assert generate(server.url, noops(10), 4, tmp_path).generator == "h2load"
    monkeypatch.setenv("PATTERNS_BENCH_GENERATOR", "python")
    assert ensure_h2load() is None
    forced = generate(server.url, noops(10), 4, tmp_path)
    assert forced.generator == "python" and forced.statuses == {200: 10}


@pytest.mark.parametrize("generator", ["h2load", "python"])
def test_a_stopped_server_gives_status_zero(server: DirectServer, tmp_path: Path, generator: str) -> None:
    if generator == "h2load" and ensure_h2load() is None:
        pytest.skip("h2load is not available")
    if generator == "h2load":  # a log of answered requests that the next run must not read
        assert run_h2load(server.url, noops(5), 2, tmp_path).ok == 5
    server.stop()
    if generator == "h2load":
        load = run_h2load(server.url, noops(20), 4, tmp_path)
    else:
        load = asyncio.run(run_python(server.url, noops(20), 4))
    assert load.statuses == {0: 20} and load.latencies_ms == []
    assert load.errors and len(load.errors) <= 5
