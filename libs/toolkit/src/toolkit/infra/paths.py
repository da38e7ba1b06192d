"""Where things live: the project root, the install cache, free ports."""

from __future__ import annotations

import contextlib
import fcntl
import os
import random
import socket
from collections.abc import Iterator
from pathlib import Path


def project_root() -> Path:
    """The workspace root above the current directory (the one that declares the workspace)."""
    here = Path.cwd().resolve()
    for directory in [here, *here.parents]:
        pyproject = directory / "pyproject.toml"
        if pyproject.exists() and "[tool.uv.workspace]" in pyproject.read_text():
            return directory
    return here


def cache_dir() -> Path:
    """Installs shared by every checkout: ``$PATTERNS_CACHE_DIR`` or the user cache dir."""
    explicit = os.environ.get("PATTERNS_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "restate-patterns"


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock between processes (parallel test workers installing the same thing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


_handed_out: set[int] = set()


def _ephemeral_low() -> int:
    """Where the ports the kernel picks for outgoing connections and ``bind(0)`` begin."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A free loopback port that stays free until something listens on it.

    The port is drawn below the kernel's ephemeral range, so no outgoing connection can take it
    meanwhile: the test Kafka broker binds its port minutes after the server was told about it, and
    a restarted server or service binds its old ports again. Never the same port twice per process.
    """
    low = _ephemeral_low()
    band = range(max(1024, low - 12000), low)
    if len(band) >= 1000:
        for port in random.sample(band, 200):
            if port not in _handed_out and _bindable(port):
                _handed_out.add(port)
                return port
    while True:  # no room below the ephemeral range: let the kernel choose
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in _handed_out:
            _handed_out.add(port)
            return port
