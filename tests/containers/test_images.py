"""Every ``services/*/Dockerfile`` builds from the repository root, and its image runs for real.

The image's own command starts in a chroot on this machine's network (``buildah run``); the test
waits for ``/health``, registers it with the session's Restate server (request signing on), makes
one call through the ingress, and checks the user, the ``HEALTHCHECK`` and the image's files.
"""

from __future__ import annotations

import tomllib
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from toolkit.infra.containers import Container, healthcheck_command
from toolkit.infra.paths import free_port
from toolkit.testing import Harness
from toolkit.waiting import wait_until

pytestmark = [pytest.mark.containers, pytest.mark.e2e]

ROOT = Path(__file__).resolve().parents[2]
MEMBERS = sorted(p.parent.name for p in ROOT.glob("services/*/Dockerfile"))
DEV_TOOLS = {"pytest", "ruff", "mypy", "uv"}


def distribution(member: str) -> str:
    return str(tomllib.loads((ROOT / "services" / member / "pyproject.toml").read_text())["project"]["name"])


def health(url: str, container: Container) -> dict[str, Any] | None:
    if not container.process.alive():
        raise AssertionError(f"the container exited:\n{container.process.tail()}")
    try:
        response = httpx.get(f"{url}/health", timeout=1)
    except httpx.HTTPError:
        return None
    return dict(response.json()) if response.status_code == 200 else None


def user_id(root: Path, user: str) -> int:
    name = user.split(":")[0]
    if name.isdigit():
        return int(name)
    for line in (root / "etc" / "passwd").read_text().splitlines():
        fields = line.split(":")
        if fields[0] == name:
            return int(fields[2])
    raise AssertionError(f"user {name!r} is not in the image's /etc/passwd")


@pytest.mark.parametrize("member", MEMBERS)
def test_image_serves_signed_invocations_as_non_root(
    member: str, service_image: Any, smoke_calls: dict[str, Any], harness: Harness, tmp_path: Path
) -> None:
    smoke = smoke_calls.get(member)
    assert smoke is not None, f"no smoke call for {member}: add one to SMOKE in tests/containers/conftest.py"
    image = service_image(member)
    port = free_port()
    env = {
        "PORT": str(port),
        "RESTATE_IDENTITY_KEYS": harness.identity,
        "RESTATE_INGRESS_URL": harness.server.ingress_url,
        "RESTATE_ADMIN_URL": harness.server.admin_url,
        "FAKES_DB": "/tmp/fakes.sqlite",
        **smoke.env,
    }
    container = Container(
        image.id, f"test-{member}-{uuid.uuid4().hex[:8]}", env=env, log_path=tmp_path / "log"
    )
    url = f"http://127.0.0.1:{port}"
    try:
        container.start()
        answer = wait_until(lambda: health(url, container), timeout=60, what=f"{member} container /health")
        assert answer["pattern"] == member

        with container.files() as root:
            uid = user_id(root, container.config.get("User") or "root")
        assert uid != 0, "the image must not run as root"
        processes = container.processes()
        assert processes, "no process runs in the container"
        assert {p.uids().real for p in processes} == {uid}
        assert {p.uids().effective for p in processes} == {uid}

        check = container.exec(healthcheck_command(container.config))
        assert check.returncode == 0, f"HEALTHCHECK failed: {check.stdout}{check.stderr}"

        services = harness.admin.register(url)
        harness.forget(member)
        assert sorted(services) == sorted(answer["services"])
        key = f"smoke-{uuid.uuid4().hex[:8]}"
        response = harness.ingress.raw(
            smoke.service, smoke.handler, smoke.body, key=key if smoke.keyed else None, timeout=60
        )
        assert response.status_code == smoke.status, response.text
        if smoke.expect is not None:
            assert response.json() == smoke.expect(key)

        unsigned = httpx.post(f"{url}/invoke/{smoke.service}/{smoke.handler}", content=b"{}", timeout=5)
        assert unsigned.status_code == 401, "a request without Restate's signature must be refused"

        container.stop()
        assert container.exec(healthcheck_command(container.config)).returncode != 0, (
            "the HEALTHCHECK must fail once the service is down"
        )
    finally:
        container.remove()
        harness.forget(member)


@pytest.mark.parametrize("member", MEMBERS)
def test_image_holds_only_the_runtime_venv(member: str, service_image: Any, tmp_path: Path) -> None:
    image = service_image(member)
    container = Container(
        image.id, f"files-{member}-{uuid.uuid4().hex[:8]}", env={}, log_path=tmp_path / "log"
    )
    others = {distribution(m) for m in MEMBERS} - {distribution(member)}
    try:
        with container.files() as root:
            assert sorted(p.name for p in (root / "app").iterdir()) == [".venv"]
            site = root / "app" / ".venv" / "lib" / "python3.11" / "site-packages"
            dists = {p.name.split("-")[0].lower().replace("_", "-") for p in site.glob("*.dist-info")}
            assert {distribution(member), "common"} <= dists
            assert not dists & others, f"other services in the image: {dists & others}"
            assert not dists & DEV_TOOLS, f"development tools in the image: {dists & DEV_TOOLS}"
            assert not list(site.glob("__editable__*")), "the service is installed editable"
            for pth in site.glob("*.pth"):
                assert "/app" not in pth.read_text(), f"{pth.name} points at sources in /app"
            leftovers = [
                str(path.relative_to(root))
                for path in root.rglob("*")
                if path.name in ("uv", "uvx", "uv.lock", "pyproject.toml", ".git")
                and site not in path.parents
            ]
            assert leftovers == [], f"build tools or sources left in the image: {leftovers}"
            assert not (root / "src").exists()
            assert not any((root / "root" / ".cache").glob("uv/*"))
    finally:
        container.remove()
