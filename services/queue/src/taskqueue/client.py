"""``uv run --package queue client --id task1 --description "some heavy work" [--delay 10s]``.

Submits ``AsyncTaskWorker/RunTask`` one-way with the task id as idempotency key (and the
optional delay), prints the invocation id, then attaches and prints the result. With
``--attach`` it only attaches to an earlier submission of that id, from any process.
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import timedelta

from common.ingress import Ingress, RestateHttpError
from taskqueue.models import TaskOpts
from taskqueue.settings import Settings

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}


def parse_delay(text: str) -> timedelta:
    """``"10s"``, ``"500ms"``, ``"2m"``, ``"1h"`` (a unit is required)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*", text)
    if match is None:
        raise argparse.ArgumentTypeError(f"bad delay {text!r}: use a number and a unit, e.g. 10s or 500ms")
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="client", description=__doc__.splitlines()[0])
    parser.add_argument("--id", required=True, help="task id (the idempotency key)")
    parser.add_argument("--description", help="what to work on (not needed with --attach)")
    parser.add_argument("--delay", type=parse_delay, help="start no earlier than this from now, e.g. 10s")
    parser.add_argument("--attach", action="store_true", help="only attach to an earlier submission")
    args = parser.parse_args(argv)
    if not args.attach and args.description is None:
        parser.error("--description is required to submit a task")
    wait = (args.delay.total_seconds() if args.delay else 0) + 600
    ingress = Ingress(Settings().ingress_url, timeout=wait)
    try:
        if not args.attach:
            task = TaskOpts(id=args.id, description=args.description)
            sent = ingress.send("AsyncTaskWorker", "RunTask", task, idempotency_key=args.id, delay=args.delay)
            print(f"Submitted task {args.id}: invocation {sent.invocation_id} ({sent.status})", flush=True)
        result = ingress.attach_by_key("AsyncTaskWorker", "RunTask", args.id)
    except RestateHttpError as error:
        print(f"task {args.id} failed: {error}", file=sys.stderr)
        return 1
    finally:
        ingress.close()
    print(f"Task {args.id} result: {result['description']}")
    return 0
