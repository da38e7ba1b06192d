"""A service's runtime holds the runtime library only: no toolkit, no test or container tooling.

Services take ``toolkit`` as a dev dependency, so ``uv sync --package NAME --no-dev`` (what each
Dockerfile runs) must leave it out, with everything only the toolkit needs. And the runtime
library never imports the toolkit when it loads: the one bridge, a Kafka pattern's producer
client, imports it when the command runs.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MEMBERS = sorted(p.parent.name for p in ROOT.glob("services/*/pyproject.toml"))
# What only the toolkit and the tests bring; none of it may reach a service image.
TOOLING = {"toolkit", "pytest", "pytest-timeout", "hypothesis", "cryptography", "podman-compose", "pyyaml"}


def distribution(member: str) -> str:
    return str(tomllib.loads((ROOT / "services" / member / "pyproject.toml").read_text())["project"]["name"])


def runtime_packages(package: str) -> set[str]:
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not on PATH")
    argv = [uv, "export", "--package", package, "--no-dev", "--frozen", "--no-hashes", "--no-header"]
    lines = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=True).stdout.splitlines()
    names = set()
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name = line.removeprefix("-e ").split(";")[0].split("==")[0].strip()
        names.add(Path(name).name if name.startswith(".") else name.lower())
    return names


@pytest.mark.parametrize("member", MEMBERS)
def test_a_service_runtime_holds_no_tooling(member: str) -> None:
    packages = runtime_packages(distribution(member))
    assert {"common", "restate-sdk", distribution(member)} <= packages | {member}
    assert not packages & TOOLING, f"{member} would ship {sorted(packages & TOOLING)}"


def test_the_runtime_library_never_imports_the_toolkit_as_it_loads() -> None:
    for path in (ROOT / "libs" / "common" / "src").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in tree.body:  # module level only: an import inside a function runs on demand
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            assert not [n for n in names if n.split(".")[0] == "toolkit"], f"{path} imports the toolkit"


def test_services_import_no_toolkit_outside_their_tests() -> None:
    for path in ROOT.glob("services/*/src/**/*.py"):
        assert "toolkit" not in path.read_text(), f"{path} refers to the toolkit"
