"""LimitedTask against a real Restate server: refusals, the rate it keeps, cancellation, crashes.

Rates are measured on the times the service records (the limiter's grant times and the durable
clock reads when work starts), not on this test's own clock, so a busy machine does not skew them.
"""

from __future__ import annotations

import itertools
import time
from datetime import datetime
from typing import Any

import pytest

from common.ingress import Admin, Ingress, RestateHttpError
from toolkit.testing import Harness, ServiceHandle
from toolkit.waiting import wait_until

pytestmark = pytest.mark.e2e


def start(harness: Harness, limiter: str, **env: str) -> ServiceHandle:
    """A service whose LimitedTask waits on ``limiter``, so each test has a bucket of its own."""
    return harness.service(
        "ratelimit", **{"RATELIMIT_TASK_LIMITER": limiter, "RATELIMIT_WORK_SECONDS": "0", **env}
    )


def set_rate(ingress: Ingress, limiter: str, limit: float, burst: int) -> None:
    ingress.call("Limiter", "SetRate", {"limit": limit, "burst": burst}, key=limiter)


def at(result: dict[str, Any], field: str) -> float:
    """A time the service recorded (``grantedAt``, ``startedAt`` ...), in epoch seconds."""
    return datetime.fromisoformat(result[field]).timestamp()


def waiting_for_a_token(ingress: Ingress, limiter: str) -> bool:
    return bool(ingress.call("Limiter", "Tokens", key=limiter) < -0.5)


def work_done(service: ServiceHandle) -> int:
    return len(service.ledger.effects("heavywork", "process"))


def test_an_unconfigured_limiter_rejects_tasks_with_429(
    harness: Harness, ingress: Ingress, unique: str
) -> None:
    service = start(harness, unique)
    response = ingress.raw("LimitedTask", "RunTask", timeout=30)
    assert response.status_code == 429, response.text
    assert "not configured" in response.json()["message"]
    assert work_done(service) == 0


def test_a_batch_larger_than_the_burst_is_rejected_at_once(
    harness: Harness, ingress: Ingress, unique: str
) -> None:
    service = start(harness, unique)
    set_rate(ingress, unique, 0.1, 2)  # a refill every 10 s: any wait would show
    response = ingress.raw("LimitedTask", "RunBatch", {"size": 3}, timeout=5)
    assert response.status_code == 429, response.text
    assert "exceeds the burst of 2" in response.json()["message"]
    result = ingress.call("LimitedTask", "RunBatch", {"size": 2}, timeout=5)
    assert result["tokens"] == 2 and result["grantedAt"] == result["reservedAt"]
    assert work_done(service) == 1
    assert ingress.raw("LimitedTask", "RunBatch", {"size": 0}).status_code == 400


def test_thirty_tasks_pass_the_burst_at_once_then_one_per_interval(
    harness: Harness, ingress: Ingress, unique: str
) -> None:
    service = start(harness, unique)
    set_rate(ingress, unique, 10, 2)
    sent = [ingress.send("LimitedTask", "RunTask") for _ in range(30)]
    results = sorted((ingress.attach(s.invocation_id) for s in sent), key=lambda r: r["grantedAt"])
    assert all(r["grantedAt"] == r["reservedAt"] for r in results[:2])  # the burst: no wait
    granted = [at(r, "grantedAt") for r in results]
    steady = granted[-21:]  # the bucket is long empty by then: one grant per interval
    gaps = [b - a for a, b in itertools.pairwise(steady)]
    assert sum(gaps) / len(gaps) == pytest.approx(0.1, rel=0.05)
    assert all(gap == pytest.approx(0.1, rel=0.05) for gap in gaps)
    # Never faster than the limit: any stretch of grants fits in the burst plus the refill meanwhile.
    for i, first in enumerate(granted):
        for j in range(i + 1, len(granted)):
            assert j - i + 1 <= 2 + 10 * (granted[j] - first) + 1e-3  # epoch floats: ~0.1 µs apart
    assert all(at(r, "startedAt") >= at(r, "grantedAt") for r in results)  # nobody jumped the wait
    assert work_done(service) == 30


def test_the_seed_demo_runs_one_task_per_second(harness: Harness, ingress: Ingress, unique: str) -> None:
    start(harness, unique)
    set_rate(ingress, unique, 1, 1)
    results = [ingress.call("LimitedTask", "RunTask") for _ in range(4)]  # one after the other
    assert results[0]["grantedAt"] == results[0]["reservedAt"]
    granted = [at(r, "grantedAt") for r in results]
    assert all(b - a == pytest.approx(1.0, rel=0.05) for a, b in itertools.pairwise(granted))
    assert all(at(r, "startedAt") >= at(r, "grantedAt") for r in results)
    assert (at(results[-1], "startedAt") - at(results[0], "startedAt")) / 3 == pytest.approx(1.0, abs=0.15)


def test_a_cancelled_waiting_task_gives_its_token_back(
    harness: Harness, ingress: Ingress, admin: Admin, unique: str
) -> None:
    service = start(harness, unique)
    set_rate(ingress, unique, 0.5, 1)  # one token every 2 s
    first = ingress.call("LimitedTask", "RunTask")
    waiting = ingress.send("LimitedTask", "RunTask")
    wait_until(lambda: waiting_for_a_token(ingress, unique), timeout=30, what="the second task to reserve")
    admin.cancel(waiting.invocation_id)
    with pytest.raises(RestateHttpError) as cancelled:
        ingress.attach(waiting.invocation_id, timeout=30)
    assert cancelled.value.status == 409
    wait_until(lambda: not waiting_for_a_token(ingress, unique), timeout=30, what="the token to come back")
    third = ingress.call("LimitedTask", "RunTask")
    # With the token back, the third acts when the second would have (2 s after the first), not 4 s.
    assert at(third, "grantedAt") - at(first, "grantedAt") == pytest.approx(2.0, rel=0.05)
    assert work_done(service) == 2


@pytest.mark.crash
def test_killing_the_service_mid_work_still_does_the_work_once(
    harness: Harness, ingress: Ingress, unique: str
) -> None:
    service = start(harness, unique, RATELIMIT_WORK_SECONDS="2")
    set_rate(ingress, unique, 10, 1)
    sent = ingress.send("LimitedTask", "RunTask")
    attempts = lambda: service.ledger.attempts("heavywork", "process", sent.invocation_id)  # noqa: E731
    wait_until(lambda: attempts() >= 1, timeout=30, what="the work to start")
    service.kill()
    service.restart()
    result = ingress.attach(sent.invocation_id, timeout=60)
    assert at(result, "startedAt") >= at(result, "grantedAt")
    assert attempts() == 2
    assert work_done(service) == 1


@pytest.mark.crash
def test_a_waiting_task_keeps_its_turn_across_a_server_crash(
    harness: Harness, ingress: Ingress, unique: str
) -> None:
    service = start(harness, unique)
    set_rate(ingress, unique, 0.5, 1)
    first = ingress.call("LimitedTask", "RunTask")
    sent = ingress.send("LimitedTask", "RunTask")
    wait_until(lambda: ingress.call("Limiter", "Tokens", key=unique) < -0.5, timeout=30, what="a reservation")
    crashed_at = time.time()
    harness.server.restart(crash=True)
    second = ingress.attach(sent.invocation_id, timeout=60)
    assert at(second, "grantedAt") - at(first, "grantedAt") == pytest.approx(2.0, rel=0.05)
    assert at(second, "startedAt") >= at(second, "grantedAt")
    assert at(second, "reservedAt") < crashed_at  # the reservation made before the crash stood
    assert work_done(service) == 2
