"""``patterns up`` leaves no process behind, however it ends, and never attaches to a leftover.

Each test starts the stack as the README does, ``uv run patterns up 2>&1 | tee FILE`` in a shell
of its own (a terminal's job), with one small pattern on free ports (``PORT`` moves its service)
and its data in a temp dir, then ends it: Ctrl-C to the job, SIGTERM, SIGHUP to the job (a closed
terminal), SIGKILL of the stack or of its ``uv run``. Afterwards no process of the job remains.
When the stack could stop its children itself, it must have done so before it exited, not left
them to its safety nets. Whatever a failing test leaves behind is killed at teardown.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from toolkit.infra.paths import free_port
from toolkit.infra.process import describe
from toolkit.waiting import wait_until

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
UV = os.environ.get("UV") or shutil.which("uv") or "uv"  # `uv run` sets UV to itself


def alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


class Job:
    """``uv run patterns up ... 2>&1 | tee FILE``, and every process it started."""

    def __init__(self, workdir: Path) -> None:
        self.ports = {name: free_port() for name in ("ingress", "admin", "node", "durablerpc")}
        self.log = workdir / "stack.log"
        self.argv = [
            UV,
            "run",
            "--no-sync",
            "patterns",
            "up",
            "--only=durablerpc",
            *(f"--{name}-port={self.ports[name]}" for name in ("ingress", "admin", "node")),
            f"--data-dir={workdir / 'data'}",
        ]
        self.env = {**os.environ, "PORT": str(self.ports["durablerpc"])}
        self.shell = subprocess.Popen(
            ["sh", "-c", f"{shlex.join(self.argv)} 2>&1 | tee {shlex.quote(str(self.log))}"],
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.everything: list[psutil.Process] = [psutil.Process(self.shell.pid)]
        self.names: list[tuple[str, psutil.Process]] = []
        self.children: list[psutil.Process] = []

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_up(self) -> None:
        wait_until(
            lambda: "Ctrl-C stops everything." in self.text() or self.shell.poll() is not None,
            timeout=180,
            interval=0.1,
            what="the stack to come up",
        )
        self.everything += self.everything[0].children(recursive=True)
        assert self.shell.poll() is None, self.text()
        self.names = [(p.name(), p) for p in self.everything]
        assert {"uv", "tee", "patterns", "restate-server", "serve"} <= {n for n, _ in self.names}, self.names
        self.children = self.stack.children(recursive=True)  # the server, the service, the watchdog

    @property
    def stack(self) -> psutil.Process:
        """The stack's own process: the Python that ``uv run`` started."""
        return self.named("patterns")

    def named(self, name: str) -> psutil.Process:
        (process,) = [p for n, p in self.names if n == name]
        return process

    def left(self) -> list[str]:
        return [describe(p.pid) for p in self.everything if alive(p)]

    def assert_all_gone(self, timeout: float = 30) -> None:
        wait_until(lambda: not self.left(), timeout=timeout, interval=0.1, what="no process of the job")

    def assert_stopped_in_order(self) -> None:
        """The stack stopped every child of its own before it exited, then everything went."""
        wait_until(lambda: not alive(self.stack), timeout=60, interval=0.02, what="the stack to exit")
        assert [describe(p.pid) for p in self.children if alive(p)] == [], "children outlived the stack"
        self.assert_all_gone()

    def kill_leftovers(self) -> None:
        for process in self.everything:
            if alive(process):
                process.kill()
        self.shell.wait(timeout=30)


@pytest.fixture
def job(tmp_path: Path) -> Iterator[Job]:
    started = Job(tmp_path)
    try:
        started.wait_up()
        yield started
    finally:
        started.kill_leftovers()


def test_ctrl_c_through_tee_stops_everything_before_the_stack_exits(job: Job) -> None:
    os.killpg(job.shell.pid, signal.SIGINT)  # a terminal's Ctrl-C: tee dies at once, too
    job.assert_stopped_in_order()


def test_sigterm_stops_everything_before_the_stack_exits(job: Job) -> None:
    job.stack.send_signal(signal.SIGTERM)
    job.assert_stopped_in_order()


def test_a_closed_terminal_stops_everything_before_the_stack_exits(job: Job) -> None:
    os.killpg(job.shell.pid, signal.SIGHUP)  # what the job gets when its terminal goes away
    job.assert_stopped_in_order()


@pytest.mark.parametrize("victim", ["stack", "uv"])
def test_sigkill_of_the_stack_or_its_uv_run_leaves_no_process(job: Job, victim: str) -> None:
    target = job.stack if victim == "stack" else job.named("uv")
    target.kill()
    job.assert_all_gone()


def test_a_second_start_on_the_same_ports_names_the_holders_and_fails(job: Job, tmp_path: Path) -> None:
    argv = [*job.argv[:-1], f"--data-dir={tmp_path / 'second'}"]  # the same ports
    second = subprocess.run(argv, cwd=ROOT, env=job.env, capture_output=True, text=True, timeout=60)
    assert second.returncode != 0, second.stdout
    server, service = job.named("restate-server"), job.named("serve")
    for what, holder in [("ingress", server), ("admin", server), ("node", server), ("durablerpc", service)]:
        assert f"{what} port {job.ports[what]} is taken by {describe(holder.pid)}" in second.stderr
    assert not (tmp_path / "second" / "restate").exists(), "it started something"
    os.killpg(job.shell.pid, signal.SIGINT)
    job.assert_stopped_in_order()


def test_a_burst_of_signals_stops_everything_before_the_stack_exits(job: Job) -> None:
    """Signals that come while the handler of the previous one runs (a terminal's Ctrl-C and the
    one ``uv run`` forwards, a closed terminal's SIGHUP to every process of the job) must not stop
    the stack from stopping: a handler that took a lock could wait for itself forever."""
    stack = job.stack
    for n in range(300):
        with contextlib.suppress(psutil.NoSuchProcess):
            stack.send_signal((signal.SIGHUP, signal.SIGINT, signal.SIGTERM)[n % 3])
        time.sleep(0.0005)
    job.assert_stopped_in_order()
