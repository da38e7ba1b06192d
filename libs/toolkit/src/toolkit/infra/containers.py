"""Container images without a Docker engine: Debian's ``buildah`` builds and runs them.

``buildah bud --isolation chroot`` builds a Dockerfile as ``docker build`` would (stages, cache
mounts, a layer cache with ``--layers``); ``buildah run --isolation chroot`` starts a process of
the image in a chroot that shares this machine's network, so a service in it answers on
loopback. Both need root. Used by the container tests and CI.

    Dockerfile --bud--> image --from--> working container --run--> the image's command
                                              |  (env overrides with `buildah config --env`)
                                              +--mount--> its files, to inspect
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import psutil

from toolkit.infra.paths import cache_dir, file_lock
from toolkit.infra.process import ManagedProcess

log = logging.getLogger(__name__)

# The Debian package that brings each command.
APT_PACKAGES = {"buildah": "buildah", "debootstrap": "debootstrap", "podman": "podman", "runc": "runc"}
ISOLATION = ["--isolation", "chroot"]


class ContainerError(RuntimeError):
    pass


def missing_commands(*commands: str) -> list[str]:
    return [c for c in commands if shutil.which(c) is None]


def ensure_commands(*commands: str) -> None:
    """Install the Debian packages of ``commands`` that are missing (``apt-get``, as root)."""
    ensure_packages(*(APT_PACKAGES.get(c, c) for c in missing_commands(*commands)))


def missing_packages(*packages: str) -> list[str]:
    query = ["dpkg-query", "-W", "-f=${db:Status-Status} ${Package}\n", *packages]
    result = subprocess.run(query, capture_output=True, text=True)
    installed = {line.split()[1] for line in result.stdout.splitlines() if line.startswith("installed ")}
    return [p for p in packages if p not in installed]


def ensure_packages(*packages: str) -> None:
    """``apt-get install`` the Debian ``packages`` that are not installed (as root)."""
    if not packages or not missing_packages(*packages):
        return
    with file_lock(cache_dir() / ".apt.lock"):
        missing = missing_packages(*packages)
        if not missing:
            return
        if os.geteuid() != 0:
            raise ContainerError(f"missing Debian packages {', '.join(missing)}: install them or run as root")
        log.info("installing %s with apt-get", ", ".join(missing))
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, stdout=subprocess.DEVNULL)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", *missing], check=True, env=env, stdout=subprocess.DEVNULL
        )


def buildah(*args: str, log_path: Path | None = None, timeout: float = 1200) -> str:
    """Run ``buildah ARGS``; its output, or an error with the output's tail."""
    result = subprocess.run(
        ["buildah", *args], capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )
    output = result.stdout + result.stderr
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("a") as handle:
            handle.write(f"$ buildah {' '.join(args)}\n{output}\n")
    if result.returncode != 0:
        tail = "\n".join(output.splitlines()[-30:])
        raise ContainerError(f"buildah {' '.join(args[:2])} failed ({result.returncode}):\n{tail}")
    return result.stdout.strip()


def image_exists(ref: str) -> bool:
    return subprocess.run(["buildah", "inspect", "--type", "image", ref], capture_output=True).returncode == 0


def image_config(ref: str) -> dict[str, Any]:
    """The Docker-format config of an image: Env, Cmd, Entrypoint, User, Healthcheck, Labels ..."""
    data = json.loads(buildah("inspect", "--type", "image", ref))
    return dict(data["Docker"]["config"])


def image_size(ref: str) -> str:
    """The size ``buildah images`` shows, such as ``"174 MB"``."""
    return str(json.loads(buildah("images", "--json", ref))[0]["size"])


def cache_flags(layers: bool) -> list[str]:
    """How a build caches, and that it removes its working containers even when it fails.

    ``buildah`` accepts ``--force-rm`` only beside ``--layers`` or ``--no-cache`` (1.28, Debian
    bookworm's, refuses it alone): a layered build reuses the layer cache, any other build starts
    from nothing and keeps no intermediate images.
    """
    return ["--layers", "--force-rm"] if layers else ["--no-cache", "--force-rm"]


def build_image(
    dockerfile: Path,
    context: Path,
    tag: str,
    *,
    log_path: Path,
    labels: Mapping[str, str] | None = None,
    layers: bool = True,
) -> str:
    """``docker build -f DOCKERFILE -t TAG CONTEXT`` with local base images only; the image id."""
    iid = log_path.with_suffix(".iid")
    args = [*ISOLATION, "--format", "docker", "--pull=never", *cache_flags(layers), "--iidfile", str(iid)]
    args += ["-f", str(dockerfile)]
    for key, value in (labels or {}).items():
        args += ["--label", f"{key}={value}"]
    buildah("bud", *args, "-t", tag, str(context), log_path=log_path)
    return iid.read_text().strip().removeprefix("sha256:")


def default_command(config: Mapping[str, Any]) -> list[str]:
    return [*(config.get("Entrypoint") or []), *(config.get("Cmd") or [])]


def healthcheck_command(config: Mapping[str, Any]) -> list[str]:
    """The image's ``HEALTHCHECK`` as an argv (``CMD`` form as is, ``CMD-SHELL`` through sh)."""
    test = list((config.get("Healthcheck") or {}).get("Test") or [])
    if not test or test[0] == "NONE":
        raise ContainerError("the image has no HEALTHCHECK")
    return test[1:] if test[0] == "CMD" else ["/bin/sh", "-c", test[1]]


class Container:
    """A working container of ``image`` running its default command, as ``docker run`` would."""

    def __init__(self, image: str, name: str, *, env: Mapping[str, str], log_path: Path) -> None:
        self.image = image
        self.name = name
        self.config = image_config(image)
        buildah("from", "--pull-never", "--name", name, image)
        for key, value in env.items():
            buildah("config", "--env", f"{key}={value}", name)
        argv = ["buildah", "run", *ISOLATION, name, "--", *default_command(self.config)]
        self.process = ManagedProcess(f"container {name}", argv, log_path=log_path)

    def start(self) -> None:
        self.process.start()

    def exec(self, argv: Sequence[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Another process in the same container (``docker exec``)."""
        command = ["buildah", "run", *ISOLATION, self.name, "--", *argv]
        return subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
        )

    def processes(self) -> list[psutil.Process]:
        """The image's processes: what ``buildah run`` started inside the chroot."""
        if self.process.pid is None:
            return []
        with contextlib.suppress(psutil.NoSuchProcess):
            children = psutil.Process(self.process.pid).children(recursive=True)
            # buildah's own helpers (chroot runtime, exec) run from a memfd under buildah-* names
            return [p for p in children if not (p.cmdline() or ["buildah"])[0].startswith("buildah")]
        return []

    @contextlib.contextmanager
    def files(self) -> Iterator[Path]:
        """The container's root filesystem, mounted for reading."""
        root = Path(buildah("mount", self.name))
        try:
            yield root
        finally:
            buildah("umount", self.name)

    def stop(self) -> None:
        leftovers = self.processes()
        self.process.stop(timeout=15)
        for process in leftovers:  # the chroot's processes may sit outside the process group
            with contextlib.suppress(psutil.NoSuchProcess):
                process.send_signal(signal.SIGKILL)

    def remove(self) -> None:
        self.stop()
        with contextlib.suppress(ContainerError):
            buildah("rm", self.name)
