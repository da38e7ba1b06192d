"""How a soak judges each process's memory from its RSS samples."""

from __future__ import annotations

from toolkit.chaos.report import memory_judgments
from toolkit.chaos.runner import SOAK_SERVER_BUDGET_MIB

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
