"""pytest plugin of the workspace (registered through the ``pytest11`` entry point).

Fixtures:
- ``harness``: one real Restate server for the whole session, plus ``harness.service(name)``
  to start and register a pattern service as a subprocess.
- ``ingress`` / ``admin``: clients of that server.
- ``unique``: a fresh id for keys, so tests never share state.

When a test fails, the tails of the server's and the services' logs are added to its report.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from common.ingress import Admin, Ingress
from common.testing.harness import Harness

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
