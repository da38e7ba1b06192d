"""The targets BENCHMARKS.md reports on, judged from one run's results."""

from __future__ import annotations

from collections.abc import Callable

from toolkit.bench.model import Result, Target

# One durable step per request: a state get/set, a send. The others (upload, actor, reminders)
# take several steps or a chain of invocations and are compared to their floor without a target.
SINGLE_STEP = ("rpc", "queue-send")
SAGAS = (("saga", "floor-workflow"), ("saga-compensate", "floor-workflow-undo"))


def judge(results: list[Result]) -> list[Target]:
    by = {r.scenario: r for r in results}
    return [rule(by) for rule in RULES]


def _single_step(by: dict[str, Result]) -> Target:
    name = "single-step patterns >= 0.8x the floor's throughput, p50 <= the floor's + 2 ms"
    seen = [by[s] for s in SINGLE_STEP if s in by and by[s].throughput_ratio is not None]
    if not seen:
        return Target(name, None, "no single-step scenario in this run")
    met = [r for r in seen if (r.throughput_ratio or 0) >= 0.8 and (r.p50_over_floor_ms or 0) <= 2]
    detail = ", ".join(f"{r.scenario} {r.throughput_ratio:.2f}x {r.p50_over_floor_ms:+.1f} ms" for r in seen)
    return Target(name, len(met) == len(seen), detail)


def _saga(by: dict[str, Result]) -> Target:
    name = "saga p50 <= 1.7x a bare three-step workflow's, throughput >= 0.5x"
    parts, ok = [], True
    for saga, bare in SAGAS:
        if saga in by and bare in by and by[bare].p50_ms and by[bare].throughput:
            p50 = by[saga].p50_ms / by[bare].p50_ms
            tput = by[saga].throughput / by[bare].throughput
            ok &= p50 <= 1.7 and tput >= 0.5 and not by[saga].errors
            parts.append(f"{saga}: p50 {p50:.2f}x, throughput {tput:.2f}x of {bare}")
    return Target(name, ok if parts else None, "; ".join(parts) or "no saga scenario in this run")


def _fanout(by: dict[str, Result]) -> Target:
    name = "fan-out of 100 in <= 1.5x the slowest part + 150 ms, of 1,000 in <= 2 s"
    parts, ok = [], True
    for scenario, limit in (
        ("fanout-100", lambda slowest: 1.5 * slowest + 150),
        ("fanout-1000", lambda _: 2000.0),
    ):
        if scenario in by:
            r = by[scenario]
            bound = limit(r.extra.get("slowest_part_ms", 0.0))
            ok &= r.extra.get("wall_ms", float("inf")) <= bound and not r.errors
            parts.append(f"{scenario} {r.extra.get('wall_ms')} ms (limit {bound:.0f})")
    return Target(name, ok if parts else None, ", ".join(parts) or "no fan-out growth scenario in this run")


def _kafka(by: dict[str, Result]) -> Target:
    """Judged on the runs over the most keys: one key is processed one record at a time."""
    name = "Kafka -> handler >= 1,000 events/s with per-key order, p50 <= 50 ms"
    seen = [r for r in by.values() if "keys" in r.extra]
    if not seen:
        return Target(name, None, "no Kafka scenario in this run")
    most = max(r.extra["keys"] for r in seen)
    judged = [r for r in seen if r.extra["keys"] == most]
    ok = all(r.throughput >= 1000 and r.p50_ms <= 50 and not r.errors for r in judged)
    detail = ", ".join(f"{r.scenario} {r.throughput:g}/s p50 {r.p50_ms:g} ms" for r in judged)
    return Target(name, ok, detail)


def _stack_up(by: dict[str, Result]) -> Target:
    name = "patterns up of the whole catalogue ready in <= 15 s"
    r = by.get("stack-up")
    if r is None:
        return Target(name, None, "stack-up not in this run")
    if r.errors:
        return Target(name, False, str(r.first_error))
    return Target(
        name,
        r.extra["ready_s"] <= 15,
        f"ready in {r.extra['ready_s']:g} s, stopped in {r.extra['stop_s']:g} s",
    )


def _limiter(by: dict[str, Result]) -> Target:
    name = "rate limiter within 2 % of the configured rate (the tasks after the burst)"
    seen = [r for r in by.values() if "configured_rate" in r.extra]
    if not seen:
        return Target(name, None, "no rate limiter scenario in this run")
    ok = all(abs(r.extra["error_pct"]) <= 2 and not r.errors for r in seen)
    detail = ", ".join(
        f"{r.extra['configured_rate']:g}/s: {r.extra['achieved_rate']:g}/s ({r.extra['error_pct']:+.2f} %),"
        f" the first after the burst {r.extra['after_burst_ms']:g} ms after it (due {r.extra['due_ms']:g})"
        for r in seen
    )
    return Target(name, ok, detail)


RULES: list[Callable[[dict[str, Result]], Target]] = [
    _single_step,
    _saga,
    _fanout,
    _kafka,
    _limiter,
    _stack_up,
]
