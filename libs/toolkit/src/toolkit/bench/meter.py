"""CPU and memory of the processes a scenario runs on: the server and each service.

A process is followed with its whole tree (a service's ``serve`` and anything it started), so
what a scenario costs is the difference of two snapshots: CPU seconds (user + system) and RSS.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import psutil

MIB = 1024 * 1024


@dataclass(frozen=True)
class Usage:
    cpu_seconds: float
    rss_mib: float


def usage(pid: int) -> Usage:
    """The CPU time and RSS of ``pid`` and all its descendants (what has exited is not counted)."""
    try:
        root = psutil.Process(pid)
        tree = [root, *root.children(recursive=True)]
    except psutil.Error:
        return Usage(0.0, 0.0)
    cpu = rss = 0.0
    for process in tree:
        try:
            times = process.cpu_times()
            cpu += times.user + times.system
            rss += process.memory_info().rss
        except psutil.Error:
            continue
    return Usage(cpu, rss / MIB)


def snapshot(processes: Mapping[str, int | Sequence[int]]) -> dict[str, Usage]:
    """``usage`` of each named process (of several together, such as a cluster's nodes)."""
    found = {}
    for name, pids in processes.items():
        each = [usage(pid) for pid in ([pids] if isinstance(pids, int) else pids)]
        found[name] = Usage(sum(u.cpu_seconds for u in each), sum(u.rss_mib for u in each))
    return found


def cores() -> int:
    return psutil.cpu_count() or 1


def listener(port: int | None) -> int | None:
    """The process listening on ``port`` of this machine, if this user can see it."""
    try:
        connections = psutil.net_connections("tcp")
    except psutil.Error:
        return None
    for conn in connections:
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
            return conn.pid
    return None
