"""Pure logic of FanOutWorker: splitting a task, joining results, the work time setting."""

from __future__ import annotations

import pytest
from parallelizework.models import SubTaskResult, aggregate, split
from parallelizework.settings import Settings
from pydantic import ValidationError


@pytest.mark.parametrize(
    ("description", "parts"),
    [
        ("a,b,c", ["a", "b", "c"]),
        (" a , b ", ["a", "b"]),
        ("a,,b,", ["a", "b"]),
        ("only", ["only"]),
        ("", []),
        (" , ", []),
    ],
)
def test_split(description: str, parts: list[str]) -> None:
    assert split(description) == parts


def test_aggregate_keeps_the_order_of_the_parts() -> None:
    results = [SubTaskResult(description=d) for d in ("b: DONE", "a: DONE")]
    assert aggregate(results).description == "b: DONE,a: DONE"
    assert aggregate([]).description == ""


def test_work_time_spans_the_configured_range() -> None:
    settings = Settings(work_seconds_min=1, work_seconds_max=3)
    assert settings.work_seconds(0.0) == 1
    assert settings.work_seconds(0.5) == 2


def test_work_time_range_must_be_ordered() -> None:
    with pytest.raises(ValidationError, match="work_seconds_max"):
        Settings(work_seconds_min=2, work_seconds_max=1)
