"""Cron expressions without a server: the forms accepted, next times, and the errors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cron.schedule import InvalidExpression, check, next_after

T = datetime(2025, 1, 1, 12, 0, 0, 500000, tzinfo=UTC)


def at(hour: int, minute: int, second: int = 0, day: int = 1, month: int = 1, year: int = 2025) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("* * * * * *", at(12, 0, 1)),  # every second (seconds first)
        ("*/10 * * * * *", at(12, 0, 10)),
        ("30 * * * * *", at(12, 0, 30)),
        ("* * * * *", at(12, 1)),  # five fields: every minute
        ("0 0 * * *", at(0, 0, day=2)),
        ("@hourly", at(13, 0)),
        ("0 0 0 1 1 * 2030", at(0, 0, year=2030)),  # seconds first, year last
    ],
)
def test_next_run_of_each_form(expression: str, expected: datetime) -> None:
    check(expression)
    assert next_after(expression, T) == expected


def test_the_next_run_is_strictly_after_the_given_time() -> None:
    assert next_after("* * * * * *", at(12, 0, 1)) == at(12, 0, 2)
    assert next_after("*/2 * * * * *", at(12, 0, 2)) == at(12, 0, 4)


@pytest.mark.parametrize(
    ("expression", "says"),
    [
        ("not a cron", "5, 6 or 7 columns"),
        ("* * *", "5, 6 or 7 columns"),
        ("61 * * * *", "out of range"),
        ("* * * * * * * *", "5, 6 or 7 columns"),
        ("@every 5s", "5, 6 or 7 columns"),
    ],
)
def test_a_malformed_expression_is_refused_with_the_reason(expression: str, says: str) -> None:
    with pytest.raises(InvalidExpression) as refused:
        check(expression)
    assert str(refused.value).startswith(f"invalid cron expression '{expression}': ")
    assert says in str(refused.value)
    with pytest.raises(InvalidExpression):
        next_after(expression, T)


@pytest.mark.parametrize("expression", ["0 0 31 2 *", "0 0 0 1 1 * 2020"])
def test_an_expression_that_never_matches_again_is_refused_when_scheduling(expression: str) -> None:
    check(expression)  # it reads fine ...
    with pytest.raises(InvalidExpression, match="invalid cron expression"):
        next_after(expression, T)  # ... but has no next time
