"""pytest plugin of the workspace (registered through the ``pytest11`` entry point).

Fixtures:
- ``harness``: one real Restate server for the whole session, plus ``harness.service(name)``
  to start and register a pattern service as a subprocess.
- ``ingress`` / ``admin``: clients of that server.
- ``kafka``: the session's Kafka broker (``my-cluster`` of that server), started on first use.
  Without Java 17 or Maven its tests are skipped with the reason, except in CI (``CI=true``),
  where they fail: CI must not pass by running nothing.
- ``unique``: a fresh id for keys, so tests never share state.

When a test fails, the tails of the server's and the services' logs are added to its report.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from common.ingress import Admin, Ingress
from toolkit.infra import kafka as kafka_infra
from toolkit.testing.harness import Harness

_harness: Harness | None = None


@pytest.fixture(scope="session")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    global _harness
    _harness = Harness(tmp_path_factory.mktemp("restate"))
    try:
        yield _harness
    finally:
        _harness.close()
        _harness = None


@pytest.fixture
def ingress(harness: Harness) -> Ingress:
    return harness.ingress


@pytest.fixture
def admin(harness: Harness) -> Admin:
    return harness.admin


@pytest.fixture(scope="session")
def kafka(harness: Harness) -> kafka_infra.KafkaBroker:
    reason = kafka_infra.unavailable_reason()
    if reason is not None:
        message = f"these tests need a Kafka broker, which needs Java 17+ and Maven: {reason}"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    broker = harness.kafka()
    assert isinstance(broker, kafka_infra.KafkaBroker), "the session's harness runs one broker"
    return broker


@pytest.fixture
def unique(request: pytest.FixtureRequest) -> str:
    """A short id unique to this test run, prefixed by the test's name for readable logs."""
    return f"{request.node.name.split('[')[0][-24:]}-{uuid.uuid4().hex[:8]}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome: Any = yield
    report = outcome.get_result()
    if report.failed and _harness is not None:
        report.sections.append(("restate-server log (tail)", _harness.server.tail(40)))
        for handle in _harness.handles():
            report.sections.append((f"{handle.name} log (tail)", handle.process.tail(40)))
        if _harness.kafka_broker is not None:
            report.sections.append(("kafka log (tail)", _harness.kafka_broker.tail(20)))
