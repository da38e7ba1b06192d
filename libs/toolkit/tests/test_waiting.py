"""Polling with a deadline."""

from __future__ import annotations

import time

import pytest

from toolkit.waiting import GiveUp, Timeout, wait_until


def test_wait_until_retries_errors_but_stops_at_once_on_give_up() -> None:
    calls: list[int] = []

    def flaky() -> int | None:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("not yet")
        return len(calls)

    def down() -> None:
        raise ConnectionError("not yet")

    def exited() -> None:
        raise GiveUp("the process exited")

    assert wait_until(flaky, timeout=5, interval=0) == 3
    with pytest.raises(Timeout, match=r"waiting for the server .*not yet"):
        wait_until(down, timeout=0.1, what="the server")
    started = time.monotonic()
    with pytest.raises(GiveUp, match="exited"):
        wait_until(exited, timeout=30)
    assert time.monotonic() - started < 5
