"""Cron expressions, read by croniter. Pure: the caller passes the current time.

Accepted forms (all in UTC):
- 5 fields, minute resolution: ``minute hour day-of-month month day-of-week`` (``0 0 * * *``);
- 6 fields with **seconds first**: ``second minute hour ...`` (``* * * * * *`` = every second,
  ``*/10 * * * * *`` = every 10 s), as in Quartz, Spring and robfig/cron's seconds option;
- 7 fields: seconds first and a year last (``0 0 0 1 1 * 2030``);
- the nicknames ``@yearly``, ``@monthly``, ``@weekly``, ``@daily``, ``@hourly``.
"""

from __future__ import annotations

from datetime import datetime

import restate
from croniter import CroniterError, croniter


class InvalidExpression(restate.TerminalError):
    """Not retried, a 400 for the caller: the expression does not read, or never matches again."""

    def __init__(self, message: str) -> None:
        super().__init__(message, status_code=400)


def check(expression: str) -> None:
    """Raise ``InvalidExpression`` unless ``expression`` reads as a cron expression."""
    try:
        croniter(expression, second_at_beginning=True)
    except (CroniterError, ValueError) as error:
        raise InvalidExpression(f"invalid cron expression {expression!r}: {error}") from None


def next_after(expression: str, after: datetime) -> datetime:
    """The first time strictly after ``after`` that ``expression`` matches."""
    try:
        return croniter(expression, after, second_at_beginning=True).get_next(datetime)
    except (CroniterError, ValueError) as error:
        raise InvalidExpression(f"invalid cron expression {expression!r}: {error}") from None
