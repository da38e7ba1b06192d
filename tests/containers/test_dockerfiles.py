"""The Dockerfiles, read statically: hadolint, the base images the stand-ins provide, the Python
minor version of this machine everywhere, the service's port, a numeric non-root user."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from toolkit.infra.standins import load_recipes

pytestmark = pytest.mark.containers

ROOT = Path(__file__).resolve().parents[2]
MEMBERS = sorted(p.parent.name for p in ROOT.glob("services/*/Dockerfile"))
RECIPES = sorted(p.parent.name for p in ROOT.glob("containers/standins/*/Containerfile"))
PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"


def instructions(path: Path) -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` pairs, with continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", path.read_text())
    pairs = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            word, _, rest = line.strip().partition(" ")
            pairs.append((word.upper(), rest.strip()))
    return pairs


def full_name(image: str) -> str:
    """Docker's expansion of a short image name: ``python:3.11`` -> ``docker.io/library/python:3.11``."""
    first = image.split("/")[0]
    if "/" not in image:
        return f"docker.io/library/{image}"
    if "." in first or ":" in first or first == "localhost":
        return image
    return f"docker.io/{image}"


@pytest.mark.parametrize(
    "path",
    [f"services/{m}/Dockerfile" for m in MEMBERS]
    + [f"containers/standins/{r}/Containerfile" for r in RECIPES]
    + ["containers/broker/Dockerfile"],
)
def test_hadolint_passes(path: str) -> None:
    hadolint = Path(sys.executable).with_name("hadolint")
    result = subprocess.run([str(hadolint), "--no-color", path], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("member", MEMBERS)
def test_base_images_are_the_standins_on_this_python(member: str) -> None:
    steps = instructions(ROOT / "services" / member / "Dockerfile")
    stages: set[str] = set()
    bases = []
    for word, rest in steps:
        if word == "FROM":
            image, _, alias = rest.partition(" AS ")
            if image not in stages:
                bases.append(image.strip())
            stages.add(alias.strip())
    standins = {full_name(recipe.image) for recipe in load_recipes(ROOT).values()}
    assert bases, "no FROM line"
    for base in bases:
        assert full_name(base) in standins, f"{base} has no stand-in under containers/standins"
        assert re.search(rf"python:?{re.escape(PYTHON)}\b", base), f"{base} is not Python {PYTHON}"
    python = tomllib.loads((ROOT / "containers/standins/python/standin.toml").read_text())
    assert f"python{PYTHON}" in python["debootstrap"]["include"]


@pytest.mark.parametrize("member", MEMBERS)
def test_runtime_stage_serves_the_member_as_numeric_non_root_user(member: str) -> None:
    steps = instructions(ROOT / "services" / member / "Dockerfile")
    package = tomllib.loads((ROOT / "services" / member / "pyproject.toml").read_text())["project"]["name"]
    assert ("ARG", f"PACKAGE={package}") in steps
    runtime = steps[max(i for i, (word, _) in enumerate(steps) if word == "FROM") :]
    values = {word: rest for word, rest in runtime}
    port = re.search(r"\bPORT=(\d+)", values["ENV"])
    assert port is not None and values["EXPOSE"] == port.group(1)
    user = values["USER"].split(":")
    assert all(part.isdigit() for part in user) and int(user[0]) != 0, f"USER {values['USER']}"
    assert "HEALTHCHECK" in values and "/health" in values["HEALTHCHECK"]
    assert values["CMD"] == '["serve"]'
    copied = [rest for word, rest in runtime if word == "COPY"]
    assert copied == ["--from=builder --chown=app:app /app/.venv /app/.venv"], "only the venv goes in"


@pytest.mark.parametrize("member", MEMBERS)
def test_dockerfiles_differ_only_in_the_member_and_its_port(member: str) -> None:
    """The Dockerfiles are copies on purpose (each member builds alone); none may drift."""

    def shape(name: str) -> str:
        text = (ROOT / "services" / name / "Dockerfile").read_text().replace(name, "<member>")
        return re.sub(r"\b9\d{3}\b", "<port>", text)

    assert shape(member) == shape("durablerpc")
