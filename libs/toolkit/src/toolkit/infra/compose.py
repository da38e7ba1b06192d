"""``docker compose up`` without Docker: podman and podman-compose on the project's compose file.

Podman runs the containers (rootful, its default netavark network with aardvark-dns, so the
services find each other by name) once two settings are made, which live in the project's own
``containers/podman/containers.conf`` (``CONTAINERS_CONF`` points there): the OCI runtime
``runc``, and default ulimits no higher than the machine's own.

Two limits of podman 4.3 (Debian bookworm) shape how the stack is started:
- it ignores ``condition: service_healthy``, so readiness rests on the registration job, which
  retries until Restate and every service answer, and on ``restart: unless-stopped``;
- it cannot start a container whose ``--requires`` chain is deeper than one level ("not found in
  input list"), so ``up`` runs with ``--no-deps``: the services start in the file's dependency
  order, without podman-level requirements between them.

The images must be in local storage already (``--no-build``): buildah builds them into the same
storage that podman reads.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from toolkit.infra.containers import ensure_packages

# podman's network stack (netavark, aardvark-dns for names) and the runtime the settings choose.
PACKAGES = ("podman", "runc", "buildah", "netavark", "aardvark-dns")
ANONYMOUS = re.compile(r"[0-9a-f]{64}")  # podman's name for a volume nobody named


class ComposeStack:
    """``podman-compose -p PROJECT -f docker-compose.yml ...`` with the project's podman settings;
    ``files`` adds override files after the main one (``-f docker-compose.cluster.yml``)."""

    def __init__(self, root: Path, project: str, log_path: Path, files: tuple[str, ...] = ()) -> None:
        self.root = root
        self.project = project
        self.log_path = log_path
        self.env = {**os.environ, "CONTAINERS_CONF": str(root / "containers" / "podman" / "containers.conf")}
        self.compose = [str(Path(sys.executable).with_name("podman-compose")), "-p", project]
        for name in ("docker-compose.yml", *files):
            self.compose += ["-f", str(root / name)]
        self._anonymous: set[str] = set()

    def _run(
        self, argv: list[str], timeout: float = 600, log: bool = True
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            argv, env=self.env, cwd=self.root, capture_output=True, text=True, timeout=timeout
        )
        if log:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            with self.log_path.open("a") as handle:
                handle.write(f"$ {' '.join(argv)}\n{result.stdout}{result.stderr}\n")
        return result

    def compose_command(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = self._run([*self.compose, *args])
        if check and result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).splitlines()[-20:])
            raise RuntimeError(f"podman-compose {' '.join(args)} failed ({result.returncode}):\n{tail}")
        return result

    def up(self, *args: str) -> None:
        """``up -d`` of every service, or with ``args`` (``--scale durablerpc=2 durablerpc``)."""
        self.compose_command("up", "-d", "--no-build", "--no-deps", *args)

    def down(self, *, volumes: bool = False) -> None:
        """Stop and remove the containers; with ``volumes`` also their volumes, the anonymous ones
        (images' ``VOLUME`` lines, which ``down -v`` leaves behind) included."""
        self._anonymous |= set(self.anonymous_volumes())
        self.compose_command("down", *(["-v"] if volumes else []))
        # podman-compose removes the containers the files declare: replicas added with --scale
        # stay, and keep the project's network. Remove them, then let it remove the network.
        extra = [container["Id"] for container in self.containers()]
        if extra:
            self._run(["podman", "rm", "--force", "--volumes", *extra])
            self.compose_command("down", *(["-v"] if volumes else []))
        if volumes and self._anonymous:
            self._run(["podman", "volume", "rm", "--force", *sorted(self._anonymous)])
            self._anonymous.clear()

    def anonymous_volumes(self) -> list[str]:
        ids = [container["Id"] for container in self.containers()]
        if not ids:
            return []
        details = json.loads(self._run(["podman", "inspect", *ids], log=False).stdout or "[]")
        mounts = [mount for container in details for mount in container.get("Mounts") or []]
        return [m["Name"] for m in mounts if m.get("Type") == "volume" and ANONYMOUS.fullmatch(m["Name"])]

    def containers(self) -> list[dict[str, Any]]:
        """The project's containers, running or not (``podman ps -a`` as JSON)."""
        label = f"label=io.podman.compose.project={self.project}"
        result = self._run(["podman", "ps", "-a", "--filter", label, "--format", "json"], log=False)
        return list(json.loads(result.stdout or "[]"))

    def container(self, service: str) -> dict[str, Any] | None:
        found = self.replicas(service)
        return found[0] if found else None

    def replicas(self, service: str) -> list[dict[str, Any]]:
        """The containers of ``service``, one per replica, in their names' order."""
        found = [
            c
            for c in self.containers()
            if (c.get("Labels") or {}).get("com.docker.compose.service") == service
        ]
        return sorted(found, key=lambda c: c["Names"][0])

    def kill(self, service: str) -> None:
        """``kill -9`` the container of ``service`` (podman's restart policy then applies)."""
        found = self.container(service)
        if found is None:
            raise RuntimeError(f"no container for {service}")
        self._run(["podman", "kill", "--signal", "KILL", found["Id"]])

    def start(self, service: str) -> None:
        """Start the stopped container of ``service`` again, on the same volumes."""
        found = self.container(service)
        if found is None:
            raise RuntimeError(f"no container for {service}")
        self._run(["podman", "start", found["Id"]])

    def exec(self, service: str, *argv: str) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` in the running container of ``service`` (``docker compose exec``)."""
        found = self.container(service)
        if found is None:
            raise RuntimeError(f"no container for {service}")
        return self._run(["podman", "exec", found["Id"], *argv], timeout=120)

    def logs(self, service: str, lines: int = 40) -> str:
        found = self.container(service)
        if found is None:
            return f"(no container for {service})"
        result = self._run(["podman", "logs", "--tail", str(lines), found["Id"]])
        return result.stdout + result.stderr

    def stop_container(self, container: dict[str, Any]) -> None:
        """``podman stop`` one container (a replica of ``replicas``): stopped on purpose, so its
        restart policy does not bring it back."""
        self._run(["podman", "stop", "--time", "10", container["Id"]])

    def replica_logs(self, container: dict[str, Any]) -> str:
        """Everything one container (a replica of ``replicas``) has logged."""
        result = self._run(["podman", "logs", container["Id"]], log=False)
        return result.stdout + result.stderr

    def volumes(self) -> list[str]:
        label = f"label=io.podman.compose.project={self.project}"
        result = self._run(["podman", "volume", "ls", "--filter", label, "--format", "{{.Name}}"])
        return result.stdout.split()


def ensure_podman() -> None:
    """podman and what it needs here, from Debian, installed with apt-get when missing."""
    ensure_packages(*PACKAGES)
