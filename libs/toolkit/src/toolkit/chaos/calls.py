"""Calls that hold through crashes, and what each one got.

Every request of the workload is made so that it may be sent again: a one-way send with an
idempotency key (or a workflow's ``Run``, keyed by the workflow id), then an attach to the
invocation for its answer. A connection refused or cut (the server is down or restarting), a
timeout or a 502/503/504 is retried with the same key, with a capped backoff, until the server
answers; every other status is the answer. Nothing here decides what the answer should be.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

RETRY_STATUSES = frozenset({502, 503, 504})
ATTEMPT_SECONDS = 30.0  # one HTTP attempt; an attach of a long invocation just attaches again


class GaveUp(Exception):
    """No answer before the call's deadline."""


@dataclass
class Call:
    """One request of the workload: what was asked, when, and what came back."""

    pattern: str
    what: str  # e.g. "reserve", "saga-declined"
    target: str  # the handler path, key included
    sent: float  # epoch seconds of the first attempt
    answered: float | None = None
    status: int | None = None  # of the final answer (attach's, for sent requests)
    answer: Any = None  # its JSON, or its text
    invocation: str | None = None
    attempts: int = 0
    error: str | None = None  # set when the call gave up
    expected: dict[str, Any] = field(default_factory=dict)  # what the pattern's check needs

    @property
    def ms(self) -> float | None:
        return None if self.answered is None else 1000 * (self.answered - self.sent)

    def to_json(self) -> dict[str, Any]:
        return {
            "pattern": self.pattern,
            "what": self.what,
            "target": self.target,
            "sent": round(self.sent, 3),
            "ms": None if self.ms is None else round(self.ms, 1),
            "status": self.status,
            "answer": self.answer if _small(self.answer) else str(self.answer)[:300],
            "invocation": self.invocation,
            "attempts": self.attempts,
            "error": self.error,
        }


def _small(value: Any) -> bool:
    return len(json.dumps(value, default=str)) <= 300


def _decode(response: httpx.Response) -> Any:
    try:
        return response.json() if response.content else None
    except ValueError:
        return response.text


def path(service: str, handler: str, key: str | None = None) -> str:
    return "/" + "/".join([service, *([quote(key, safe="")] if key is not None else []), handler])


class Caller:
    """The workload's HTTP client of the ingress (of every node of a cluster: the calls take
    turns, and a retry goes to the next node); keeps every ``Call`` it made."""

    def __init__(
        self,
        ingresses: list[str],
        *,
        deadline: float = 600.0,
        connections: int = 64,
        rotation: Callable[[], set[int]] | None = None,
    ) -> None:
        """``rotation``: the indexes of the ingresses to use now, as a load balancer's readiness
        check would give them (a restarted node is out until it knows every service)."""
        self.rotation = rotation
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        self.clients = [
            httpx.AsyncClient(base_url=url, timeout=ATTEMPT_SECONDS, limits=limits) for url in ingresses
        ]
        self.deadline = deadline  # seconds a call may take, retries included
        self.calls: list[Call] = []
        self.retries = 0

    async def close(self) -> None:
        for client in self.clients:
            await client.aclose()

    async def _request(self, call: Call, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One answer of the server to ``method url``, retrying what a crash causes."""
        pause = 0.1
        while True:
            call.attempts += 1
            ready = sorted(self.rotation()) if self.rotation else []
            turn = len(self.calls) + call.attempts
            http = self.clients[ready[turn % len(ready)]] if ready else self.clients[turn % len(self.clients)]
            try:
                response = await http.request(method, url, **kwargs)
                if response.status_code not in RETRY_STATUSES:
                    return response
                trouble = f"HTTP {response.status_code}: {response.text[:200]}"
            except httpx.TransportError as error:  # refused, reset, timed out
                trouble = f"{type(error).__name__}: {error}"
            if time.time() - call.sent > self.deadline:
                raise GaveUp(f"no answer after {self.deadline:.0f} s; last: {trouble}")
            self.retries += 1
            await asyncio.sleep(pause)
            pause = min(2.0, pause * 2)

    def _begin(self, pattern: str, what: str, target: str, expected: dict[str, Any] | None) -> Call:
        call = Call(pattern, what, target, time.time(), expected=dict(expected or {}))
        self.calls.append(call)
        return call

    def _finish(self, call: Call, response: httpx.Response) -> Call:
        call.answered, call.status, call.answer = time.time(), response.status_code, _decode(response)
        return call

    async def invoke(
        self,
        pattern: str,
        what: str,
        target: str,
        body: Any = None,
        *,
        idempotency_key: str | None = None,
        delay: float | None = None,
        expected: dict[str, Any] | None = None,
        wait: bool = True,
    ) -> Call:
        """Send ``body`` to ``target`` one-way (with the key, and the delay), then attach and wait
        for the answer (unless not ``wait``: then the send's answer is the answer)."""
        call = self._begin(pattern, what, target, expected)
        headers = {} if idempotency_key is None else {"idempotency-key": idempotency_key}
        content = b""
        if body is not None:
            content, headers["content-type"] = json.dumps(body).encode(), "application/json"
        params = {} if delay is None else {"delay": f"{round(delay * 1000)}ms"}
        try:
            sent = await self._request(
                call, "POST", f"{target}/send", content=content, headers=headers, params=params
            )
            if sent.status_code not in (200, 202) or not wait:
                return self._finish(call, sent)
            call.invocation = sent.json()["invocationId"]
            answer = await self._request(call, "GET", f"/restate/invocation/{call.invocation}/attach")
            return self._finish(call, answer)
        except GaveUp as error:
            call.error = str(error)
            return call

    async def get(self, pattern: str, what: str, url: str, expected: dict[str, Any] | None = None) -> Call:
        """A plain request/response call with no side effect (a getter), retried the same way."""
        call = self._begin(pattern, what, url, expected)
        try:
            return self._finish(call, await self._request(call, "POST", url))
        except GaveUp as error:
            call.error = str(error)
            return call
