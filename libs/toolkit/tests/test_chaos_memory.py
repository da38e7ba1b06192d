"""How a soak judges each process's memory from its RSS samples."""

from __future__ import annotations

from pathlib import Path

import pytest

from toolkit.chaos.report import memory_judgments
from toolkit.chaos.runner import SOAK_SERVER_BUDGET_MIB, SOAK_SERVER_ENV
from toolkit.infra.restate import ROCKSDB_MEMORY_MIB, RestateServer
from toolkit.waiting import wait_until

BUDGET = float(SOAK_SERVER_BUDGET_MIB)


def verdicts(values: list[float], *, budget: float | None = None) -> dict[str, bool]:
    return {what.split(" ", 1)[1]: ok for what, ok, _ in memory_judgments("p", values, budget_mib=budget)}


def test_a_cache_that_fills_up_and_stops_levels_off() -> None:
    filling = [100.0 + min(i, 40) * 5 for i in range(90)]  # grows 200 MiB in the first part, then flat
    assert verdicts(filling) == {"RSS levels off": True}


def test_a_steady_leak_does_not_level_off() -> None:
    leaking = [100 + i * 1.0 for i in range(90)]  # 1 MiB per sample, to the end
    assert verdicts(leaking) == {"RSS levels off": False}


def test_noise_around_a_level_is_not_growth() -> None:
    noisy = [300.0 + (12 if i % 7 == 0 else 0) for i in range(90)]
    assert verdicts(noisy)["RSS levels off"]


def test_a_server_is_held_to_its_start_plus_its_caches_bounds() -> None:
    within = [150 + min(i, 30) * (BUDGET / 30) for i in range(90)]
    beyond = [150 + min(i, 30) * (BUDGET / 30) + min(i, 30) * 3 for i in range(90)]
    assert verdicts(within, budget=BUDGET) == {"RSS levels off": True, "RSS within its budget": True}
    assert verdicts(beyond, budget=BUDGET) == {"RSS levels off": True, "RSS within its budget": False}


def test_too_few_samples_are_not_judged() -> None:
    assert memory_judgments("p", [100.0, 200.0, 300.0], budget_mib=BUDGET) == []


def test_a_server_s_heap_outside_its_caches_is_judged_by_the_same_rule_under_its_own_name() -> None:
    judged = memory_judgments(
        "restate-server", [100 + i * 1.0 for i in range(90)], what="heap outside RocksDB"
    )
    assert [(what, ok) for what, ok, _ in judged] == [
        ("restate-server heap outside RocksDB levels off", False)
    ]


@pytest.mark.e2e
def test_the_pinned_server_s_allocator_reads_malloc_conf(tmp_path: Path) -> None:
    """The soak's MALLOC_CONF reaches the server's jemalloc (a build with prefixed symbols would
    read another variable, and the setting would do nothing): ``stats_print`` makes it print its
    statistics at exit."""
    server = RestateServer(
        tmp_path / "data", env={"MALLOC_CONF": f"{SOAK_SERVER_ENV['MALLOC_CONF']},stats_print:true"}
    )
    server.start()
    try:
        memory = wait_until(server.memory_mib, timeout=30, what="the server's memory metrics")
        assert memory["rocksdb_capacity"] == ROCKSDB_MEMORY_MIB  # the bound the soak's budget counts
        assert 0 < memory["rocksdb"] <= memory["rocksdb_capacity"] and memory["heap"] > memory["rocksdb"]
    finally:
        server.stop()
    assert "Begin jemalloc statistics" in server.process.log_path.read_text(errors="replace")
    assert "background_thread: true" in server.process.log_path.read_text(errors="replace")


@pytest.mark.e2e
def test_the_server_takes_no_less_than_256_mib_for_rocksdb(tmp_path: Path) -> None:
    """Why a soak does not shrink RocksDB's bound: a smaller setting silently gives 256 MiB."""
    server = RestateServer(tmp_path / "data", env={"RESTATE_ROCKSDB_TOTAL_MEMORY_SIZE": "64 MiB"})
    server.start()
    try:
        memory = wait_until(server.memory_mib, timeout=30, what="the server's memory metrics")
    finally:
        server.stop()
    assert memory["rocksdb_capacity"] == 256 == ROCKSDB_MEMORY_MIB


def test_a_server_judged_on_its_heap_has_its_rss_held_to_its_budget_only() -> None:
    filling = [150 + i * 2.0 for i in range(90)]  # RocksDB's cache still filling at the end
    judged = memory_judgments("restate-server", filling, budget_mib=BUDGET, levels=False)
    assert [what for what, _, _ in judged] == ["restate-server RSS within its budget"]
