"""``uv run --package NAME serve`` starts NAME whatever ran before (uv issue #12891)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from toolkit.infra.paths import free_port
from toolkit.infra.process import ManagedProcess
from toolkit.waiting import wait_until

ROOT = Path(__file__).resolve().parents[1]


def serve_and_ask(tmp_path: Path, argv: list[str], cwd: Path = ROOT) -> str:
    port = free_port()
    env = {**os.environ, "PORT": str(port), "UV_FROZEN": "1"}
    process = ManagedProcess("serve", argv, log_path=tmp_path / f"serve-{port}.log", env=env, cwd=cwd)
    process.start()
    try:
        import httpx

        def health() -> dict[str, object] | None:
            if not process.alive():
                raise RuntimeError(process.tail())
            try:
                return dict(httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).json())
            except httpx.HTTPError:
                return None

        answer = wait_until(health, timeout=60, what=" ".join(argv))
    finally:
        assert process.stop() == 0, process.tail()
    return str(answer["pattern"])


def test_uv_run_package_serve_starts_that_package_in_any_order(tmp_path: Path) -> None:
    uv = os.environ.get("UV") or shutil.which("uv")  # `uv run` sets UV to itself
    assert uv, "uv must be on PATH"
    order = ["durablerpc", "queue", "durablerpc", "queue"]
    answered = [serve_and_ask(tmp_path, [uv, "run", "--package", name, "serve"]) for name in order]
    assert answered == order
    assert serve_and_ask(tmp_path, [uv, "run", "--package=queue", "serve"]) == "queue"
    assert serve_and_ask(tmp_path, [uv, "run", "serve"], cwd=ROOT / "services" / "durablerpc") == "durablerpc"


def test_serve_without_a_choice_says_how_to_choose(tmp_path: Path) -> None:
    serve = Path(os.environ.get("VIRTUAL_ENV", ROOT / ".venv")) / "bin" / "serve"
    env = {k: v for k, v in os.environ.items() if k != "PATTERN"}
    result = subprocess.run([str(serve)], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "uv run --package NAME" in result.stderr
