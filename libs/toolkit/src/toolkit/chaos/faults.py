"""The faults of a chaos run: a plan drawn from the seed, and what happened when each was done.

The plan is fixed before the run starts (same seed, same faults at the same offsets), so a
failing run is replayed with ``--seed``. Faults come one at a time, ``every`` seconds apart on
average; each lasts a few seconds and the stack recovers from it by itself.
"""

from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass
from typing import Any

from toolkit.chaos.stack import INACTIVITY_SECONDS, ChaosStack

KINDS = ("kill-service", "kill-server", "kill-kafka", "pause-service", "redeploy")
WEIGHTS = {"kill-service": 4, "kill-server": 2, "kill-kafka": 1, "pause-service": 2, "redeploy": 1}


@dataclass
class Fault:
    at: float  # seconds after the workload started
    kind: str
    target: str  # the service, or "restate-server" / "kafka"
    seconds: float  # down or paused for
    started: float | None = None  # when it was actually done (seconds after the start)
    epoch: float | None = None  # the same, as wall-clock time
    took: float | None = None  # until the stack was whole again
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: round(v, 2) if isinstance(v, float) else v for k, v in asdict(self).items()}


def plan(
    seed: int,
    seconds: float,
    every: float,
    services: list[str],
    kinds: tuple[str, ...] = KINDS,
    *,
    servers: tuple[str, ...] = ("restate-server",),
    brokers: tuple[str, ...] = ("kafka",),
) -> list[Fault]:
    """The faults of a run of ``seconds``, starting after a quiet ``every``/2 and ending a quiet
    ``every``/2 before the workload stops. On a cluster, ``servers`` and ``brokers`` name its
    nodes and brokers, and each kill hits one of them."""
    rng = random.Random(f"{seed}:faults")
    weights = [WEIGHTS[k] for k in kinds]
    faults, at = [], every / 2
    while at < seconds - every / 2:
        kind = rng.choices(kinds, weights)[0]
        pool = {"kill-server": servers, "kill-kafka": brokers}.get(kind, services)
        target = rng.choice(list(pool))
        lasting = INACTIVITY_SECONDS + rng.uniform(1, 4) if kind == "pause-service" else rng.uniform(0.2, 3)
        faults.append(Fault(round(at, 2), kind, target, round(lasting, 2)))
        at += rng.uniform(0.5 * every, 1.5 * every)
    return faults


def inflict(stack: ChaosStack, fault: Fault) -> None:
    """Do ``fault`` and wait until the stack is whole again (blocking)."""
    began = time.monotonic()
    try:
        if fault.kind == "kill-service":
            stack.kill_service(fault.target, fault.seconds)
        elif fault.kind == "kill-server":
            stack.kill_server(fault.target, fault.seconds)
        elif fault.kind == "kill-kafka":
            stack.kill_kafka(fault.target, fault.seconds)
        elif fault.kind == "pause-service":
            stack.pause_service(fault.target, fault.seconds)
        elif fault.kind == "redeploy":
            stack.redeploy(fault.target)
        else:
            raise ValueError(f"unknown fault {fault.kind}")
    except Exception as error:  # noqa: BLE001 - reported with the run; the stack is checked after
        fault.error = f"{type(error).__name__}: {error}"
    fault.took = time.monotonic() - began
