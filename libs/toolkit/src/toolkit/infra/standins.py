"""Local stand-ins for the public images that the Dockerfiles and the compose file name.

Public registries are out of reach on the build machines, so every image named in a ``FROM``
line is made here from packages, under the same name and tag. A recipe is a folder
``containers/standins/<name>/`` with ``standin.toml`` (the image name, the stand-ins it builds on,
the inputs to fetch) and a ``Containerfile`` that assembles the recipe's other files and these
inputs:

- ``[debootstrap]``  a Debian root filesystem (``debootstrap --variant=...``) -> ``rootfs.tar``
- ``[pypi]``         packages from PyPI, installed by uv with their hashes -> ``pypi/``
- ``[trust]``        this machine's certificate authorities -> ``trust/ca-certificates.crt``
- ``[npm]``          packages from the npm registry (``npm install``) -> ``npm/node_modules/``
- ``[maven]``        the dependencies of a pom from Maven Central -> ``maven/*.jar``
- ``[jaeger]``       Jaeger's all-in-one, built from its Go module by ``toolkit.infra.jaeger``
                     (``module_version`` must be the version it builds) -> ``jaeger/jaeger``

Each stand-in is built once per recipe. Its key hashes the recipe's files, its inputs from this
machine (for Jaeger the key of its Go build, ``jaeger.build_key()``, or the digest of
``$JAEGER_BIN``), the code that builds it (this module and ``containers``, build flags included)
and the keys of the stand-ins below it; the image carries the key as a label and is saved as an
OCI archive in ``cache_dir()/images``, so a fresh container storage loads it back instead of
rebuilding, and a changed recipe or builder builds a new one.

``debootstrap`` fetches from the Debian mirror that this machine's ``apt-get`` uses (its sources
list), or from ``$DEBIAN_MIRROR`` when set.
"""

from __future__ import annotations

import hashlib
import logging
import os
import platform
import re
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toolkit.infra import containers, jaeger
from toolkit.infra.containers import build_image, buildah, ensure_commands, image_config, image_exists
from toolkit.infra.paths import cache_dir, file_lock

log = logging.getLogger(__name__)

LABEL = "io.restate-patterns.recipe"
APT_SOURCES = Path("/etc/apt")
# The code that turns a recipe into an image: a change to it builds every stand-in anew.
BUILDERS = (Path(__file__), Path(containers.__file__))


@dataclass(frozen=True)
class Recipe:
    name: str
    folder: Path
    image: str
    needs: tuple[str, ...] = ()
    spec: dict[str, Any] = field(default_factory=dict)


def load_recipes(root: Path) -> dict[str, Recipe]:
    """Every recipe under ``root/containers/standins``, by folder name."""
    recipes = {}
    for toml in sorted((root.resolve() / "containers" / "standins").glob("*/standin.toml")):
        spec = tomllib.loads(toml.read_text())
        name = toml.parent.name
        recipes[name] = Recipe(name, toml.parent, spec["image"], tuple(spec.get("needs", ())), spec)
    return recipes


def recipe_key(recipe: Recipe, recipes: dict[str, Recipe]) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in recipe.folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(recipe.folder).as_posix().encode() + b"\0" + path.read_bytes())
    if "trust" in recipe.spec:
        digest.update(Path(recipe.spec["trust"]["ca_bundle"]).read_bytes())
    if "jaeger" in recipe.spec:
        digest.update(_jaeger_build().encode())
    for builder in BUILDERS:
        digest.update(builder.read_bytes())
    for need in recipe.needs:
        digest.update(recipe_key(recipes[need], recipes).encode())
    return digest.hexdigest()[:20]


def _source_entries(apt: Path) -> Iterator[tuple[str, list[str], list[str], list[str]]]:
    """``(type, URIs, suites, components)`` of every entry in apt's sources, in apt's order."""
    one_line = [apt / "sources.list", *sorted((apt / "sources.list.d").glob("*.list"))]
    for path in one_line:
        if not path.is_file():
            continue
        for raw in path.read_text().splitlines():
            line = re.sub(r"\[[^]]*\]", " ", raw.split("#", 1)[0]).split()
            if len(line) >= 3:
                yield line[0], [line[1]], [line[2]], line[3:]
    for path in sorted((apt / "sources.list.d").glob("*.sources")):
        for stanza in re.split(r"\n\s*\n", path.read_text()):
            fields: dict[str, str] = {}
            for raw in stanza.splitlines():
                if raw.startswith("#") or ":" not in raw or raw[:1].isspace():
                    continue
                name, value = raw.split(":", 1)
                fields[name.strip().lower()] = value.strip()
            if fields.get("enabled", "yes").lower() == "no":
                continue
            for kind in fields.get("types", "").split():
                yield (
                    kind,
                    fields.get("uris", "").split(),
                    fields.get("suites", "").split(),
                    fields.get("components", "").split(),
                )


def debian_mirror(suite: str, apt: Path = APT_SOURCES) -> str:
    """The mirror for ``suite``: ``$DEBIAN_MIRROR``, else the one this machine's apt-get uses."""
    explicit = os.environ.get("DEBIAN_MIRROR")
    if explicit:
        return explicit
    for kind, uris, suites, components in _source_entries(apt):
        if kind == "deb" and suite in suites and "main" in components:
            for uri in uris:
                if uri.startswith(("http://", "https://")):
                    return uri
    raise RuntimeError(f"no Debian mirror for {suite!r} in {apt}/sources.list(.d): set DEBIAN_MIRROR to one")


def _debootstrap(spec: dict[str, Any], context: Path) -> None:
    ensure_commands("debootstrap")
    target = context / "rootfs"
    argv = ["debootstrap", f"--variant={spec.get('variant', 'minbase')}"]
    if spec.get("include"):
        argv.append("--include=" + ",".join(spec["include"]))
    subprocess.run(
        [*argv, spec["suite"], str(target), debian_mirror(spec["suite"])],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    subprocess.run(
        ["tar", "-C", str(target), "--numeric-owner", "-cf", str(context / "rootfs.tar"), "."], check=True
    )
    shutil.rmtree(target)


def _pypi(spec: dict[str, Any], folder: Path, context: Path) -> None:
    uv = os.environ.get("UV") or shutil.which("uv") or "uv"
    machine = "aarch64" if platform.machine() in ("aarch64", "arm64") else "x86_64"
    subprocess.run(
        [
            *(uv, "pip", "install", "--quiet", "--target", str(context / "pypi"), "--require-hashes"),
            *("--no-deps", "--only-binary", ":all:", "--python-platform", f"{machine}-manylinux_2_28"),
            *("--python-version", "3.11", "-r", str(folder / spec["requirements"])),
        ],
        check=True,
    )


def _npm(spec: dict[str, Any], context: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is needed for this stand-in (install Node.js 20+)")
    (context / "npm").mkdir()
    flags = ["--no-audit", "--no-fund", "--loglevel=error", "--prefix", str(context / "npm")]
    subprocess.run([npm, "install", *flags, *spec["packages"]], check=True, stdout=subprocess.DEVNULL)


def _maven(spec: dict[str, Any], folder: Path, context: Path) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise RuntimeError("Maven (mvn) is needed for this stand-in")
    goal = ["dependency:copy-dependencies", f"-DoutputDirectory={context / 'maven'}"]
    subprocess.run([mvn, "-q", "-B", "-f", str(folder / spec["pom"]), *goal], check=True, cwd=context)


def _jaeger_build() -> str:
    """Which Jaeger binary ``[jaeger]`` copies: the build recipe's key, or what ``$JAEGER_BIN`` holds."""
    given = os.environ.get("JAEGER_BIN")
    if given:
        return "given:" + hashlib.sha256(Path(given).read_bytes()).hexdigest()
    return jaeger.build_key()


def _jaeger(spec: dict[str, Any], context: Path) -> None:
    if spec["module_version"] != jaeger.JAEGER_VERSION:
        raise RuntimeError(
            f"the recipe wants Jaeger's module {spec['module_version']}, "
            f"toolkit.infra.jaeger builds {jaeger.JAEGER_VERSION}: change both, and the image tag"
        )
    (context / "jaeger").mkdir()
    shutil.copyfile(jaeger.ensure_jaeger(), context / "jaeger" / "jaeger")
    (context / "jaeger" / "jaeger").chmod(0o755)


def _prepare(recipe: Recipe, context: Path) -> None:
    if context.exists():
        shutil.rmtree(context)
    shutil.copytree(recipe.folder, context, ignore=shutil.ignore_patterns("standin.toml", "Containerfile"))
    if "debootstrap" in recipe.spec:
        _debootstrap(recipe.spec["debootstrap"], context)
    if "pypi" in recipe.spec:
        _pypi(recipe.spec["pypi"], recipe.folder, context)
    if "npm" in recipe.spec:
        _npm(recipe.spec["npm"], context)
    if "maven" in recipe.spec:
        _maven(recipe.spec["maven"], recipe.folder, context)
    if "jaeger" in recipe.spec:
        _jaeger(recipe.spec["jaeger"], context)
    if "trust" in recipe.spec:
        (context / "trust").mkdir()
        shutil.copyfile(recipe.spec["trust"]["ca_bundle"], context / "trust" / "ca-certificates.crt")


def _labelled(image: str, key: str) -> bool:
    return image_exists(image) and (image_config(image).get("Labels") or {}).get(LABEL) == key


def ensure_standin(name: str, recipes: dict[str, Recipe]) -> str:
    """The stand-in ``name`` in local storage, built or loaded only when missing; its image name."""
    recipe = recipes[name]
    for need in recipe.needs:
        ensure_standin(need, recipes)
    key = recipe_key(recipe, recipes)
    images = cache_dir() / "images"
    archive = images / f"{name}-{key}.oci.tar"
    with file_lock(images / f".{name}.lock"):
        if _labelled(recipe.image, key):
            return recipe.image
        if archive.exists():
            log.info("loading stand-in %s from %s", recipe.image, archive)
            image_id = buildah("pull", "--quiet", f"oci-archive:{archive}").splitlines()[-1]
            buildah("tag", image_id, recipe.image)
            if _labelled(recipe.image, key):
                return recipe.image
        log.info("building stand-in %s (recipe %s)", recipe.image, key)
        context = images / "build" / name
        _prepare(recipe, context)
        build_image(
            recipe.folder / "Containerfile",
            context,
            recipe.image,
            log_path=images / "build" / f"{name}.log",
            labels={LABEL: key},
            layers=False,
        )
        partial = archive.with_suffix(".partial")
        buildah("push", "--quiet", recipe.image, f"oci-archive:{partial}:{recipe.image}")
        partial.rename(archive)
        for stale in images.glob(f"{name}-*.oci.tar"):
            if stale != archive:
                stale.unlink()
        shutil.rmtree(context)
    return recipe.image


def ensure_standins(root: Path, names: list[str] | None = None) -> dict[str, str]:
    """The stand-ins ``names`` (default: every recipe), by recipe name -> image name."""
    ensure_commands("buildah")
    recipes = load_recipes(root)
    return {name: ensure_standin(name, recipes) for name in names or sorted(recipes)}
