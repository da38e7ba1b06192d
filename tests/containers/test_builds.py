"""The build machinery itself: the flags every real build passes, on this machine's ``buildah``,
on every run; stand-in keys that follow the code that builds them; the Debian mirror from apt.

The stand-ins are cached by key, so a broken flag in their builds would only show on a machine
without them. Here one small image is built through ``build_image`` in both of its modes (layered
for the services' Dockerfiles, uncached for the stand-ins), whatever the caches hold.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest

from toolkit.infra import containers, jaeger, standins
from toolkit.infra.containers import build_image, buildah, image_config
from toolkit.infra.standins import debian_mirror, load_recipes, recipe_key

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.containers
@pytest.mark.parametrize("layers", [True, False], ids=["layered", "uncached"])
def test_a_small_image_builds_with_the_flags_of_the_real_builds(
    layers: bool, container_tools: None, tmp_path: Path
) -> None:
    (tmp_path / "hello.txt").write_text("hello\n")
    (tmp_path / "Containerfile").write_text('FROM scratch\nCOPY hello.txt /hello.txt\nCMD ["/hello"]\n')
    tag = f"localhost/restate-patterns-probe:{uuid.uuid4().hex[:12]}"
    image_id = build_image(
        tmp_path / "Containerfile",
        tmp_path,
        tag,
        log_path=tmp_path / "build.log",
        labels={"probe": "yes"},
        layers=layers,
    )
    try:
        assert image_config(image_id)["Labels"]["probe"] == "yes"
        assert image_config(tag)["Cmd"] == ["/hello"]
        leftovers = buildah("containers", "--json")
        assert tag not in leftovers, f"the build left a working container: {leftovers}"
    finally:
        buildah("rmi", "--force", tag)


@pytest.mark.containers
def test_a_failing_build_leaves_no_working_container(container_tools: None, tmp_path: Path) -> None:
    (tmp_path / "Containerfile").write_text("FROM scratch\nCOPY missing.txt /missing.txt\n")
    before = buildah("containers", "--quiet").split()
    for layers in (True, False):
        with pytest.raises(containers.ContainerError, match="missing"):
            build_image(
                tmp_path / "Containerfile",
                tmp_path,
                "localhost/never",
                log_path=tmp_path / "b.log",
                layers=layers,
            )
    assert buildah("containers", "--quiet").split() == before


def test_a_stand_in_key_follows_the_code_that_builds_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recipes = load_recipes(ROOT)
    builders = []
    for builder in standins.BUILDERS:
        copy = tmp_path / builder.name
        shutil.copyfile(builder, copy)
        builders.append(copy)
    monkeypatch.setattr(standins, "BUILDERS", tuple(builders))
    before = {name: recipe_key(recipe, recipes) for name, recipe in recipes.items()}
    with builders[-1].open("a") as handle:
        handle.write("\n# a changed build flag\n")
    after = {name: recipe_key(recipe, recipes) for name, recipe in recipes.items()}
    assert all(before[name] != after[name] for name in recipes), (before, after)
    assert {name: recipe_key(recipe, recipes) for name, recipe in recipes.items()} == after


def test_the_jaeger_stand_in_key_follows_the_jaeger_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A changed build recipe of ``toolkit.infra.jaeger`` (or another ``$JAEGER_BIN``) builds the
    jaeger stand-in anew, and only that one."""
    monkeypatch.delenv("JAEGER_BIN", raising=False)
    recipes = load_recipes(ROOT)
    assert "jaeger" in recipes["jaeger"].spec
    before = {name: recipe_key(recipe, recipes) for name, recipe in recipes.items()}
    monkeypatch.setattr(jaeger, "BUILD_FLAGS", [*jaeger.BUILD_FLAGS, "-v"])
    after = {name: recipe_key(recipe, recipes) for name, recipe in recipes.items()}
    assert {name for name in recipes if before[name] != after[name]} == {"jaeger"}
    given = tmp_path / "jaeger"
    given.write_bytes(b"a release binary")
    monkeypatch.setenv("JAEGER_BIN", str(given))
    first = recipe_key(recipes["jaeger"], recipes)
    given.write_bytes(b"another release binary")
    assert len({first, recipe_key(recipes["jaeger"], recipes), after["jaeger"]}) == 3


def test_the_mirror_comes_from_apt_sources_in_either_format(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DEBIAN_MIRROR", raising=False)
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n"
        "Components: main\n\n"
        "# switched off\nTypes: deb\nURIs: http://off.example/debian\nSuites: bookworm\n"
        "Components: main\nEnabled: no\n\n"
        "Types: deb deb-src\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\n"
        "Components: main contrib\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
    )
    assert debian_mirror("bookworm", tmp_path) == "http://mirror.example/debian"
    assert debian_mirror("bookworm-security", tmp_path) == "http://mirror.example/debian-security"

    (tmp_path / "sources.list").write_text(
        "# the classic format comes first\n"
        "deb-src http://src.example/debian bookworm main\n"
        "deb [arch=amd64 signed-by=/k.gpg] https://one.example/debian bookworm main non-free\n"
    )
    assert debian_mirror("bookworm", tmp_path) == "https://one.example/debian"

    with pytest.raises(RuntimeError, match="DEBIAN_MIRROR"):
        debian_mirror("trixie", tmp_path)
    monkeypatch.setenv("DEBIAN_MIRROR", "http://override.example/debian")
    assert debian_mirror("trixie", tmp_path) == "http://override.example/debian"


@pytest.mark.containers
def test_every_debootstrap_suite_has_a_mirror_here(container_tools: None) -> None:
    """The recipes' suites are found in this machine's apt sources (or ``$DEBIAN_MIRROR``)."""
    for recipe in load_recipes(ROOT).values():
        if "debootstrap" in recipe.spec:
            assert debian_mirror(recipe.spec["debootstrap"]["suite"]).startswith(("http://", "https://"))
