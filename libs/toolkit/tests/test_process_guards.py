"""The guards of ``toolkit.infra.process``, each alone: a child dies with the program that started
it (parent-death signal), the watchdog ends a whole group that ignores SIGTERM once the program is
SIGKILLed, a group stopped in time is released, and ``port_holders`` names a listener but not the
leftovers of a closed connection (TIME_WAIT)."""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from toolkit.infra.paths import free_port
from toolkit.infra.process import port_holders, watch
from toolkit.waiting import wait_until

# A program that starts one ManagedProcess, prints its pid and waits to be killed.
PARENT = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from toolkit.infra.process import ManagedProcess, Watchdog
    if sys.argv[1] == "watchdog":
        Watchdog.install(grace=1.0)
    child = ManagedProcess("child", sys.argv[2:], log_path=Path(sys.argv[0]).parent / "child.log")
    child.start()
    print(child.pid, flush=True)
    sys.stdin.read()
    """
)
# A group that ignores SIGTERM, the parent-death signal included, with a grandchild.
STUBBORN = ["sh", "-c", "trap '' TERM; sleep 600 & wait"]


def gone(process: psutil.Process) -> bool:
    try:
        return not process.is_running() or process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.fixture
def orphans() -> Iterator[list[psutil.Process]]:
    """What a test expects to die; killed at teardown when it did not."""
    found: list[psutil.Process] = []
    yield found
    for process in found:
        if not gone(process):
            process.kill()


def start_and_kill_parent(tmp_path: Path, mode: str, argv: list[str]) -> list[psutil.Process]:
    """Run PARENT (with a watchdog or without), SIGKILL it, and return its child and grandchildren."""
    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    command = [sys.executable, str(script), mode, *argv]
    with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as parent:
        assert parent.stdout is not None
        child = psutil.Process(int(parent.stdout.readline()))
        family = [child]
        if argv[0] == "sh":
            family += wait_until(child.children, timeout=10, what="the shell's sleep")
        parent.kill()
    return family


def test_a_child_gets_sigterm_when_its_parent_is_sigkilled(
    tmp_path: Path, orphans: list[psutil.Process]
) -> None:
    orphans += start_and_kill_parent(tmp_path, "plain", ["sleep", "600"])
    wait_until(lambda: all(gone(p) for p in orphans), timeout=10, what="the child to die with its parent")


def test_the_watchdog_kills_a_group_that_ignores_sigterm(
    tmp_path: Path, orphans: list[psutil.Process]
) -> None:
    orphans += start_and_kill_parent(tmp_path, "watchdog", STUBBORN)
    assert len(orphans) == 2  # sh and its sleep
    wait_until(lambda: all(gone(p) for p in orphans), timeout=15, what="the watchdog to end the group")


def test_the_watchdog_spares_released_groups_and_ends_guarded_ones(orphans: list[psutil.Process]) -> None:
    kept, ended = (subprocess.Popen(["sleep", "600"], start_new_session=True) for _ in range(2))
    orphans += [psutil.Process(kept.pid), psutil.Process(ended.pid)]
    watch(io.BytesIO(f"+{kept.pid}\n+{ended.pid}\n-{kept.pid}\n".encode()), grace=5)
    assert ended.wait(timeout=10) == -signal.SIGTERM
    assert kept.poll() is None
    kept.kill()
    kept.wait(timeout=10)


def test_port_holders_names_a_listener() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port, free = listener.getsockname()[1], free_port()
        holders = port_holders([port, free])
    assert list(holders) == [port]
    assert holders[port].startswith(f"pid {os.getpid()}: ")


def test_a_closed_connection_in_time_wait_does_not_hold_its_port() -> None:
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers do
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = listener.accept()
        accepted.close()  # the server side closes first: its end goes to TIME_WAIT on `port`
        client.close()

    def time_wait() -> bool:
        return any(
            c.laddr.port == port and c.status == psutil.CONN_TIME_WAIT for c in psutil.net_connections("tcp")
        )

    wait_until(time_wait, timeout=10, what="TIME_WAIT on the listener's port")
    assert port_holders([port]) == {}
