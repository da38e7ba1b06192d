"""The two tests every group of handlers runs: random requests, and the fixed edge cases.

A test module defines its ``TARGETS`` and a ``probe`` fixture that starts its patterns, then
takes both tests with ``test_no_request_wedges_a_handler, test_no_edge_request_wedges_a_handler
= handler_tests(TARGETS)``; pytest finds the module's ``probe`` for them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from .checker import Probe, Target, edge_cases
from .profile import examples
from .strategies import Request, requests


def handler_tests(targets: list[Target]) -> tuple[Callable[..., Any], Callable[..., Any]]:
    @pytest.mark.parametrize("target", targets, ids=repr)
    @examples()
    @given(data=st.data())
    def test_no_request_wedges_a_handler(probe: Probe, target: Target, data: st.DataObject) -> None:
        request = data.draw(requests(target.valid, "h-" if target.keyed else None), label="request")
        probe.check(target, request)

    @pytest.mark.parametrize(("target", "edge"), edge_cases(targets))
    def test_no_edge_request_wedges_a_handler(probe: Probe, target: Target, edge: Request) -> None:
        probe.check(target, edge)

    return test_no_request_wedges_a_handler, test_no_edge_request_wedges_a_handler
