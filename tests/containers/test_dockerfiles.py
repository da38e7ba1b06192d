"""The Dockerfiles, read statically: hadolint, the base images the stand-ins provide, the Python
minor version of this machine everywhere, the service's port, a numeric non-root user."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from toolkit.infra import jaeger
from toolkit.infra.standins import load_recipes

pytestmark = pytest.mark.containers

ROOT = Path(__file__).resolve().parents[2]
MEMBERS = sorted(p.parent.name for p in ROOT.glob("services/*/Dockerfile"))
RECIPES = sorted(p.parent.name for p in ROOT.glob("containers/standins/*/Containerfile"))
PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
# How docker.io/jaegertracing/jaeger:2.12.0 starts: the release stage of cmd/jaeger/Dockerfile in
# the Go module of that release (compared with the module's own file below, when Go has it).
JAEGER_BINARY = "/cmd/jaeger/jaeger-linux"
JAEGER_IMAGE: dict[str, object] = {
    "ENTRYPOINT": [JAEGER_BINARY],
    "CMD": None,
    "ENV": {"JAEGER_LISTEN_HOST": "0.0.0.0"},
    "USER": "10001",
    "VOLUME": ["/tmp"],
    "EXPOSE": {"4317", "4318", "5778", "5779", "9411", "13132", "13133", "14250", "14268", "16686"},
}


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


def start_of(steps: list[tuple[str, str]], args: dict[str, str] | None = None) -> dict[str, object]:
    """Entry point, command, variables, user, volumes and ports of one stage, as JAEGER_IMAGE has
    them; ``$NAME`` and ``${NAME}`` of ``args`` replaced."""
    start: dict[str, object] = {"CMD": None}
    variables: dict[str, str] = {}
    ports: set[str] = set()
    for word, rest in steps:
        for name, value in (args or {}).items():
            rest = rest.replace("${" + name + "}", value).replace("$" + name, value)
        if word in ("ENTRYPOINT", "CMD", "VOLUME"):
            start[word] = json.loads(rest)
        elif word == "USER":
            start[word] = rest
        elif word == "ENV":
            variables.update(pair.partition("=")[::2] for pair in rest.split())
        elif word == "EXPOSE":
            ports.update(rest.split())
    return {**start, "ENV": variables, "EXPOSE": ports}


def test_the_jaeger_stand_in_starts_as_the_public_image_does() -> None:
    steps = instructions(ROOT / "containers/standins/jaeger/Containerfile")
    assert start_of(steps) == JAEGER_IMAGE
    assert ("COPY", f"jaeger/jaeger {JAEGER_BINARY}") in steps
    go = shutil.which("go")
    if go is None:
        return
    cache = subprocess.run([go, "env", "GOMODCACHE"], capture_output=True, text=True).stdout.strip()
    source = Path(cache) / f"github.com/jaegertracing/jaeger@v{jaeger.JAEGER_VERSION}/cmd/jaeger/Dockerfile"
    if not source.is_file():  # the module is there once toolkit.infra.jaeger has built it
        return
    upstream = instructions(source)
    begins = next(i for i, (word, rest) in enumerate(upstream) if word == "FROM" and "AS release" in rest)
    ends = next((i for i in range(begins + 1, len(upstream)) if upstream[i][0] == "FROM"), len(upstream))
    stage = upstream[begins + 1 : ends]
    args = dict(rest.partition("=")[::2] for word, rest in stage if word == "ARG" and "=" in rest)
    assert start_of(stage, args) == JAEGER_IMAGE
    copied = [rest.split()[-1] for word, rest in stage if word == "COPY" and "jaeger-linux-" in rest]
    assert copied == [JAEGER_BINARY]
