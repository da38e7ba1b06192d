"""How long ``patterns up`` takes to bring the whole catalogue up, once installed.

The stack is started as a user starts it (its own ingress, admin and node ports free, its data
in a temp dir; the services and Kafka on their documented ports), and counts as ready when it
prints that Ctrl-C stops everything: the server, Kafka and every service up, registered and
subscribed. Then it is stopped with Ctrl-C, and that is timed too.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from toolkit.bench.model import Result
from toolkit.bench.scenario import result
from toolkit.infra.paths import free_port, project_root

if TYPE_CHECKING:
    from toolkit.bench.scenario import Bench, Scenario

READY = "Ctrl-C stops everything."
TIMEOUT = 300.0


def stack_up(bench: Bench, scenario: Scenario) -> Result:
    lines: list[str] = []
    with tempfile.TemporaryDirectory(prefix="patterns-bench-stack-") as data:
        command = [str(Path(sys.executable).with_name("patterns")), "up", f"--data-dir={data}"]
        command += [f"--{part}-port={free_port()}" for part in ("ingress", "admin", "node")]
        began = time.monotonic()
        process = subprocess.Popen(
            command,
            cwd=project_root(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        assert process.stdout is not None
        reader = threading.Thread(target=lambda: lines.extend(process.stdout or ()), daemon=True)
        reader.start()
        while not any(READY in line for line in lines) and process.poll() is None:
            if time.monotonic() - began > TIMEOUT:
                break
            time.sleep(0.05)
        ready = time.monotonic() - began
        up = process.poll() is None and any(READY in line for line in lines)
        stopping = time.monotonic()
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
        stopped = time.monotonic() - stopping
        reader.join(timeout=10)
    problems = [] if up else ["the stack did not come up: " + " | ".join(line.strip() for line in lines[-5:])]
    return result(
        scenario,
        [1000 * ready],
        generator="custom",
        requests=1,
        concurrency=1,
        seconds=ready,
        throughput=0.0,
        problems=problems,
        extra={"ready_s": round(ready, 2), "stop_s": round(stopped, 2)},
    )
