"""Hygiene of the hostile suite: what a failed example left retrying is killed after its test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .checker import release_all


@pytest.fixture(autouse=True)
def _release_leftovers() -> Iterator[None]:
    yield
    release_all()
