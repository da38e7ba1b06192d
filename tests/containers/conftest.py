"""Fixtures of the container tests: the tools, the stand-in base images, each service's image.

Images are built lazily, once per session, by the first test that needs them; the terminal
summary lists each image's size and build time.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from toolkit.infra.containers import ContainerError, build_image, ensure_commands, image_size
from toolkit.infra.paths import cache_dir, file_lock
from toolkit.infra.standins import ensure_standins

ROOT = Path(__file__).resolve().parents[2]
MEMBERS = sorted(p.parent.name for p in ROOT.glob("services/*/Dockerfile"))
IMAGE_PREFIX = "restate-patterns"
TOOLKIT = "toolkit"  # libs/toolkit/Dockerfile: the compose file's jobs
BROKER = "broker"  # containers/broker/Dockerfile: the compose file's Kafka broker


@dataclass(frozen=True)
class Smoke:
    """One call through the ingress that a service answers at once, by PATTERNS.md's contract."""

    service: str
    handler: str
    body: Any = None
    keyed: bool = False  # a virtual object or workflow: the test's key goes in the URL
    expect: Callable[[str], Any] | None = None  # the JSON answer for a key, when it is fixed
    status: int = 200
    env: dict[str, str] = field(default_factory=dict)  # settings that make the call quick


SEED_BOOKING = {
    "flights": {"flight_id": "12345", "passenger_name": "John Doe"},
    "car": {"pickup_location": "Berlin", "rental_date": "2024-01-01"},
    "payment_info": {"card_number": "4111111111111111", "amount": 100.0},
}
SMOKE = {
    "durablerpc": Smoke("ProductService", "Reserve", keyed=True, expect=lambda key: True),
    "queue": Smoke(
        "AsyncTaskWorker", "RunTask", {"id": "t1", "description": "x"}, env={"QUEUE_WORK_SECONDS": "0"}
    ),
    "webhookcallbacks": Smoke(
        "WebhookCallbackRouter",
        "OnStripeEvent",
        {"id": "evt_1", "type": "customer.created", "created": 1, "data": {"object": {"id": "in_1"}}},
    ),
    "syncasync": Smoke(
        "DataUploadService",
        "Run",
        keyed=True,
        env={"SYNCASYNC_SLOW_SHARE": "0", "SYNCASYNC_FAST_UPLOAD_SECONDS": "0.1"},
    ),
    "sagas": Smoke(
        "BookingWorkflow",
        "Run",
        SEED_BOOKING,
        keyed=True,
        env={"SAGAS_PAYMENT__DECLINE__MODE": "off", "SAGAS_PAYMENT__FAILURE__MODE": "off"},
    ),
    "statefulactors": Smoke(
        "MachineOperator", "TearDown", keyed=True, expect=lambda key: f"{key} is not up, cannot tear down"
    ),
    "schedulingtasks": Smoke(
        "PaymentTracker",
        "OnPaymentSuccess",
        {"type": "invoice.payment_succeeded", "created": 1, "data": {"id": "in_1", "customer": "c1"}},
        keyed=True,
    ),
    "parallelizework": Smoke(
        "FanOutWorker",
        "Run",
        {"description": "a,b"},
        expect=lambda key: {"description": "a: DONE,b: DONE"},
        env={"PARALLELIZEWORK_WORK_SECONDS_MIN": "0", "PARALLELIZEWORK_WORK_SECONDS_MAX": "0.1"},
    ),
    "eventtransactions": Smoke(
        "UserFeed",
        "ProcessPost",
        {"content": "hello", "metadata": "public"},
        keyed=True,
        env={"EVENTTRANSACTIONS_PENDING__MODE": "off", "EVENTTRANSACTIONS_POLL_SECONDS": "0.1"},
    ),
    "eventenrichment": Smoke(
        "PackageTracker", "RegisterPackage", {"finalDestination": "Amsterdam", "locations": []}, keyed=True
    ),
    "ratelimit": Smoke("Limiter", "SetRate", {"limit": 1, "burst": 1}, keyed=True),
    "cron": Smoke(
        "CronJobInitiator",
        "Create",
        {"cronExpression": "not a cron", "service": "TaskService", "method": "ExecuteTask"},
        status=400,
    ),
}


@dataclass(frozen=True)
class BuiltImage:
    member: str
    tag: str
    id: str
    size: str
    seconds: float


_built: dict[str, BuiltImage] = {}
_report: list[str] = []


@pytest.fixture(scope="session")
def container_tools() -> None:
    """buildah and debootstrap, installed with apt-get when missing (CI machines start clean)."""
    try:
        ensure_commands("buildah", "debootstrap")
    except ContainerError as error:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"cannot build containers here: {error}")


@pytest.fixture(scope="session")
def standins(container_tools: None) -> dict[str, str]:
    started = time.monotonic()
    images = ensure_standins(ROOT, ["python", "uv"])
    _report.append(f"stand-in base images ready in {time.monotonic() - started:.1f}s")
    return images


@pytest.fixture(scope="session")
def service_image(
    standins: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], BuiltImage]:
    """``service_image(member)``: ``docker build -f services/<member>/Dockerfile .``, once; the
    toolkit's image (the compose jobs) is ``service_image("toolkit")``, the broker's (on the Kafka
    stand-in, which must exist) ``service_image("broker")``."""
    logs = tmp_path_factory.mktemp("builds")

    def build(member: str) -> BuiltImage:
        if member not in _built:
            tag = f"{IMAGE_PREFIX}/{member}:latest"
            started = time.monotonic()
            dockerfile = ROOT / ("libs" if member == TOOLKIT else "services") / member / "Dockerfile"
            context = ROOT
            if member == BROKER:
                context = ROOT / "containers" / BROKER
                dockerfile = context / "Dockerfile"
            with file_lock(cache_dir() / "images" / f".build-{member}.lock"):
                image_id = build_image(dockerfile, context, tag, log_path=logs / f"{member}.log")
            built = BuiltImage(member, tag, image_id, image_size(image_id), time.monotonic() - started)
            _built[member] = built
            _report.append(f"{tag}: {built.size}, built in {built.seconds:.1f}s")
        return _built[member]

    return build


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _report:
        terminalreporter.section("container images")
        for line in _report:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def smoke_calls() -> dict[str, Smoke]:
    return SMOKE
