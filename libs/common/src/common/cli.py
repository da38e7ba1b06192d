"""The ``serve`` and ``client`` commands shared by every service member.

Every member declares ``serve = "common.cli:serve"`` (and ``client`` likewise), so whichever
member uv installed last, the script in ``.venv/bin`` is the same one (uv issue #12891 makes
members' same-named scripts overwrite each other). The command then works out which pattern
was meant, in this order:

1. an explicit first argument naming a pattern: ``serve sagas``;
2. the ``PATTERN`` environment variable;
3. the ``--package NAME`` of the ``uv run`` that started it: ``uv run --package sagas serve``;
4. the member directory it runs in: ``cd services/sagas && uv run serve``;
5. the only pattern installed (a container image holds exactly one).
"""

from __future__ import annotations

import os
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import psutil

from common.pattern import ENTRY_POINT_GROUP, Pattern


def installed_patterns() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def _package_from_uv(process: psutil.Process | None) -> str | None:
    """The ``--package`` of the nearest ``uv run`` among our ancestors."""
    while process is not None:
        try:
            argv = process.cmdline()
            parent = process.parent()
        except (psutil.Error, OSError):
            return None
        if argv and Path(argv[0]).name in ("uv", "uv.exe") and "run" in argv:
            for i, arg in enumerate(argv):
                if arg == "--package" and i + 1 < len(argv):
                    return argv[i + 1]
                if arg.startswith("--package="):
                    return arg.split("=", 1)[1]
            return None
        process = parent
    return None


def _package_from_cwd(names: set[str]) -> str | None:
    for directory in [Path.cwd(), *Path.cwd().parents]:
        if directory.parent.name == "services" and directory.name in names:
            return directory.name
        if (directory / "pyproject.toml").exists():
            return None
    return None


def resolve(argv: list[str]) -> tuple[str, list[str]]:
    """The pattern to run and the arguments left for it."""
    available = installed_patterns()
    if not available:
        sys.exit("no pattern is installed in this environment (uv sync --all-packages)")
    if argv and argv[0] in available:
        return argv[0], argv[1:]
    chosen = (
        os.environ.get("PATTERN")
        or _package_from_uv(psutil.Process().parent())
        or _package_from_cwd(set(available))
    )
    if chosen is None and len(available) == 1:
        chosen = next(iter(available))
    if chosen is None or chosen not in available:
        names = ", ".join(sorted(available))
        hint = f"unknown pattern {chosen!r}; " if chosen else ""
        sys.exit(f"{hint}say which pattern to run: uv run --package NAME <command> (one of: {names})")
    return chosen, argv


def _load(argv: list[str]) -> tuple[Pattern[Any], list[str]]:
    name, rest = resolve(argv)
    pattern = installed_patterns()[name].load()
    assert isinstance(pattern, Pattern), f"entry point {name} is not a Pattern"
    return pattern, rest


def serve() -> None:
    pattern, rest = _load(sys.argv[1:])
    if rest:
        sys.exit(f"serve takes no arguments (configure {pattern.name} through its environment)")
    pattern.serve()


def client() -> None:
    pattern, rest = _load(sys.argv[1:])
    if pattern.client is None:
        sys.exit(f"{pattern.name} has no client: call it with curl (see its README)")
    sys.exit(pattern.client(rest))
