"""``patterns chaos``: every pattern at once under a steady mixed workload, with components
killed again and again; afterwards, every invariant the patterns promise is checked.

The run starts its own Restate server, Kafka broker and services (``toolkit.chaos.stack``),
drives all twelve patterns with requests whose outcome is known (``toolkit.chaos.workload`` and
the drivers), inflicts faults on a schedule drawn from the seed (``toolkit.chaos.faults``),
waits until everything in flight has finished, and checks the fakes' ledgers and the server's
state. ``--soak`` turns the faults off and runs at half the throughput the workload reaches, to
see that latency and memory stay flat. Exits 1 on any broken invariant.

    uv run patterns chaos --minutes 30 --seed 7        # faults every 20 s on average
    uv run patterns chaos --minutes 30 --soak          # no faults, half the measured maximum
    uv run patterns chaos --minutes 2 --seed 3 --patterns sagas,queue --faults kill-service
    uv run patterns chaos --minutes 5 --nodes 3       # a 3-node cluster, 3 brokers: kill one at a time
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from toolkit.chaos.faults import KINDS

__all__ = ["add_arguments", "chaos"]


def _names(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--minutes", type=float, default=5.0, help="how long the workload runs (default 5)")
    parser.add_argument("--seed", type=int, default=1, help="the workload's and the faults' seed (default 1)")
    parser.add_argument(
        "--rate", type=float, help="workload steps per second (default 6; a soak: half the measured maximum)"
    )
    parser.add_argument(
        "--every", type=float, default=20.0, help="seconds between faults, on average (default 20)"
    )
    parser.add_argument(
        "--faults", type=_names, default=KINDS, help=f"which faults (default all: {','.join(KINDS)})"
    )
    parser.add_argument(
        "--soak", action="store_true", help="no faults; judge latency and memory over the run"
    )
    parser.add_argument(
        "--patterns", type=_names, default=(), help="only these patterns (default all twelve)"
    )
    parser.add_argument(
        "--drain", type=float, default=300.0, help="seconds to wait for work in flight at the end"
    )
    parser.add_argument(
        "--nodes", type=int, default=1, help="Restate nodes and Kafka brokers (default 1; 3: a cluster)"
    )
    parser.add_argument("--out", type=Path, default=Path("chaos-results"), help="where the report goes")


def chaos(args: argparse.Namespace) -> int:
    from toolkit.chaos.faults import KINDS as known
    from toolkit.chaos.report import passed, text, write
    from toolkit.chaos.runner import DRIVERS, ChaosRun, Options

    unknown = sorted(set(args.faults) - set(known)) + sorted(
        set(args.patterns) - {d.pattern for d in DRIVERS}
    )
    if unknown:
        sys.exit(f"unknown fault(s) or pattern(s): {', '.join(unknown)}")
    with tempfile.TemporaryDirectory(prefix="patterns-chaos-") as workdir:
        options = Options(
            seconds=args.minutes * 60,
            seed=args.seed,
            rate=args.rate if args.rate or args.soak else 6.0,
            every=args.every,
            faults=() if args.soak else args.faults,
            patterns=args.patterns,
            drain=args.drain,
            workdir=Path(workdir),
            nodes=args.nodes,
        )
        print(
            f"chaos: {args.minutes:g} min, seed {args.seed}, "
            f"{'soak' if args.soak else 'faults: ' + ','.join(options.faults)}",
            flush=True,
        )
        outcome = ChaosRun(options).run()
    path = write(outcome, args.out)
    print(text(outcome))
    print(f"report: {path}")
    return 0 if passed(outcome) else 1
