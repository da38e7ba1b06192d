"""Failure policies: deterministic, reproducible, near their rate."""

from __future__ import annotations

from common.faults import FailurePolicy


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
