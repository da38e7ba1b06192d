"""Where things live: the project root, the install cache, free ports."""

from __future__ import annotations

import contextlib
import fcntl
import os
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
