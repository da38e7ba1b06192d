"""Child processes that never outlive the program that started them.

- Each child leads its own process group (a new session) with its output in a log file, so a
  Ctrl-C in the terminal reaches only the program, which stops its children in order, and
  ``stop()`` / ``kill()`` reach whatever a child started in turn.
- Each child gets SIGTERM from Linux when the thread that started it ends, for any reason,
  SIGKILL included (the parent-death signal, set between fork and exec). Start children from a
  thread that lives as long as they should: the main thread.
- The parent-death signal reaches only the child itself, and a child may ignore it. A
  ``Watchdog`` closes that gap: a small process in a session of its own, told about every group
  started, which ends the groups still there (SIGTERM, then SIGKILL) once the program is gone.
- ``port_holders`` says which process holds a port, so a start can refuse to attach to leftovers.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import BinaryIO

import psutil

_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def die_with_parent(sig: int = signal.SIGTERM, parent: int | None = None) -> None:
    """Ask Linux to send ``sig`` to this process when its parent ends. With ``parent`` (its pid
    as the parent knew it), a parent that already ended before the request counts too."""
    if _libc is None:
        return
    if _libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if parent is not None and os.getppid() != parent:
        os.kill(os.getpid(), sig)


class Watchdog:
    """Ends the process groups it guards once the program that started them is gone.

    It reads ``+PGID`` / ``-PGID`` lines from a pipe that only this program can write to; the
    kernel closes the pipe when the program ends, however it ends, and the watchdog then sends
    SIGTERM to every group still guarded and SIGKILL to those left after ``grace`` seconds.
    ``install()`` makes every ``ManagedProcess`` started afterwards guarded."""

    active: Watchdog | None = None

    def __init__(self, grace: float = 10.0) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", __name__, str(grace)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,  # never hold a pipeline of ours open
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # out of reach of the terminal's Ctrl-C and of our group's kill
        )

    @classmethod
    def install(cls, grace: float = 10.0) -> Watchdog:
        cls.active = cls(grace)
        return cls.active

    def _tell(self, line: str) -> None:
        assert self.proc.stdin is not None
        with contextlib.suppress(OSError, ValueError):  # it died or was closed: pdeathsig remains
            self.proc.stdin.write(f"{line}\n".encode())
            self.proc.stdin.flush()

    def guard(self, pgid: int) -> None:
        self._tell(f"+{pgid}")

    def release(self, pgid: int) -> None:
        self._tell(f"-{pgid}")

    def close(self) -> None:
        """The program stopped its children itself: let the watchdog end (on what is left)."""
        if Watchdog.active is self:
            Watchdog.active = None
        assert self.proc.stdin is not None
        with contextlib.suppress(OSError):
            self.proc.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=30)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # there, but not ours to signal
    return True


def _signal_groups(groups: Iterable[int], sig: int) -> None:
    for pgid in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)


def watch(commands: BinaryIO, grace: float) -> None:
    """The watchdog itself: follow the guard/release lines until the pipe ends, then end the
    groups left: SIGTERM, and SIGKILL to whatever is still there after ``grace`` seconds."""
    groups: set[int] = set()
    for line in commands:
        with contextlib.suppress(ValueError):
            pgid = int(line[1:])
            if line.startswith(b"+"):
                groups.add(pgid)
            else:
                groups.discard(pgid)
    _signal_groups(groups, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_group_alive(pgid) for pgid in groups):
        time.sleep(0.1)
    _signal_groups(groups, signal.SIGKILL)


def bindable(port: int) -> bool:
    """Whether nothing listens on (or holds) the loopback port. ``SO_REUSEADDR`` as servers set
    it, so connections of a process that just ended (TIME_WAIT) do not count."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def describe(pid: int) -> str:
    """``pid 123: restate-server --base-dir ...``, as far as the system lets us see it."""
    try:
        command = " ".join(psutil.Process(pid).cmdline()) or psutil.Process(pid).name()
    except psutil.Error:
        command = "(command line not visible)"
    return f"pid {pid}: {command[:300]}"


def port_holders(ports: Iterable[int]) -> dict[int, str]:
    """The ports among ``ports`` that something already holds, each with who holds it."""
    taken = [port for port in ports if not bindable(port)]
    holders = dict.fromkeys(taken, "a process this user cannot see")
    if not taken:
        return holders
    with contextlib.suppress(psutil.Error):
        connections = psutil.net_connections("tcp")
        for listening in (True, False):  # a listener names the holder better than a connection
            for conn in connections:
                port = conn.laddr.port if conn.laddr else None
                if port in taken and conn.pid and (conn.status == psutil.CONN_LISTEN) == listening:
                    holders[port] = describe(conn.pid)
                    taken.remove(port)
    return holders


class ManagedProcess:
    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_offset = 0  # where this run's output starts in the (appended) log file

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.log_offset = log.tell()
        try:
            self.proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,  # its own process group: stop() reaches every child
                preexec_fn=functools.partial(die_with_parent, signal.SIGTERM, os.getpid()),
            )
        finally:
            log.close()
        if Watchdog.active is not None:
            Watchdog.active.guard(self.proc.pid)

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _signal_group(self, sig: int) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)

    def _release(self) -> None:
        """The group is gone: the watchdog must not signal its id, which may be reused."""
        if Watchdog.active is not None and self.proc is not None:
            Watchdog.active.release(self.proc.pid)

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM the leader (``uv run`` forwards it to its child), wait, then SIGKILL whatever is
        left of the group. Returns the leader's exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._signal_group(signal.SIGKILL)
            self.proc.wait(timeout)
        self._signal_group(signal.SIGKILL)  # stragglers of the group
        self._release()
        return self.proc.returncode

    def kill(self) -> None:
        """A crash: SIGKILL the whole group, no chance to clean up."""
        if self.proc is None:
            return
        self._signal_group(signal.SIGKILL)
        self.proc.wait(10)
        self._release()

    def tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


if __name__ == "__main__":  # the watchdog process: ``python -m toolkit.infra.process GRACE``
    watch(sys.stdin.buffer, float(sys.argv[1]))
