"""Small HTTP clients of the Restate server: the ingress (invoke, send, attach) and the admin API
(register deployments, subscriptions, SQL). Used by the clients, the local stack and the tests.

The SDK's own client sends delays without a unit and times out after 5 s, so these talk HTTP
directly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import httpx

from common.codec import encode


class RestateHttpError(Exception):
    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body

    @property
    def message(self) -> str:
        try:
            return str(json.loads(self.body).get("message", self.body))
        except (ValueError, AttributeError):
            return self.body


@dataclass(frozen=True)
class SendResult:
    invocation_id: str
    status: str  # "Accepted" or "PreviouslyAccepted"


def handler_path(service: str, handler: str, key: str | None) -> str:
    """The ingress path of a handler: ``/Service/Handler`` or ``/Object/<key>/Handler``."""
    parts = [service] + ([quote(key, safe="")] if key is not None else []) + [handler]
    return "/" + "/".join(parts)


def _delay(delay: timedelta | float | None) -> dict[str, str]:
    if delay is None:
        return {}
    seconds = delay.total_seconds() if isinstance(delay, timedelta) else float(delay)
    return {"delay": f"{round(seconds * 1000)}ms"}


def request_body(payload: Any) -> tuple[bytes, dict[str, str]]:
    """A handler's input as JSON bytes, with the headers that go with it."""
    if payload is None:
        return b"", {}  # a handler without input takes no body and no content-type
    body = payload if isinstance(payload, bytes) else encode(payload)
    return body, {"content-type": "application/json"}


class _RestateApi:
    """An HTTP client of one of the server's APIs; an error status raises ``RestateHttpError``."""

    def __init__(self, url: str, timeout: float) -> None:
        self.url = url.rstrip("/")
        self.http = httpx.Client(base_url=self.url, timeout=timeout)

    def close(self) -> None:
        self.http.close()

    def _check(self, response: httpx.Response) -> httpx.Response:
        if response.status_code >= 400:
            raise RestateHttpError(response.status_code, response.text)
        return response


class Ingress(_RestateApi):
    """Invoke handlers through Restate's ingress (default ``http://127.0.0.1:8080``)."""

    def __init__(self, url: str, timeout: float = 60.0) -> None:
        super().__init__(url, timeout)

    def raw(
        self,
        service: str,
        handler: str,
        payload: Any = None,
        *,
        key: str | None = None,
        idempotency_key: str | None = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        """POST without checking the status: for tests of error responses."""
        body, base = request_body(payload)
        if idempotency_key is not None:
            base["idempotency-key"] = idempotency_key
        return self.http.post(
            handler_path(service, handler, key),
            content=body,
            headers={**base, **(headers or {})},
            timeout=timeout if timeout is not None else self.http.timeout,
        )

    def call(self, service: str, handler: str, payload: Any = None, **kwargs: Any) -> Any:
        response = self._check(self.raw(service, handler, payload, **kwargs))
        return response.json() if response.content else None

    def send(
        self,
        service: str,
        handler: str,
        payload: Any = None,
        *,
        key: str | None = None,
        idempotency_key: str | None = None,
        delay: timedelta | float | None = None,
    ) -> SendResult:
        body, headers = request_body(payload)
        if idempotency_key is not None:
            headers["idempotency-key"] = idempotency_key
        path = handler_path(service, handler, key) + "/send"
        response = self._check(self.http.post(path, content=body, headers=headers, params=_delay(delay)))
        data = response.json()
        return SendResult(data["invocationId"], data["status"])

    def attach(self, invocation_id: str, timeout: float | None = None) -> Any:
        response = self._check(
            self.http.get(
                f"/restate/invocation/{invocation_id}/attach",
                timeout=timeout if timeout is not None else self.http.timeout,
            )
        )
        return response.json() if response.content else None

    def attach_by_key(
        self, service: str, handler: str, idempotency_key: str, *, key: str | None = None
    ) -> Any:
        target = handler_path(service, handler, key)
        response = self._check(
            self.http.get(f"/restate/invocation{target}/{quote(idempotency_key, safe='')}/attach")
        )
        return response.json() if response.content else None

    def output(self, invocation_id: str) -> httpx.Response:
        """The result if the invocation finished (200), else 470 'not ready'; unchecked."""
        return self.http.get(f"/restate/invocation/{invocation_id}/output")

    def attach_workflow(self, workflow: str, workflow_id: str, timeout: float | None = None) -> Any:
        response = self._check(
            self.http.get(
                f"/restate/workflow/{workflow}/{quote(workflow_id, safe='')}/attach",
                timeout=timeout if timeout is not None else self.http.timeout,
            )
        )
        return response.json() if response.content else None


class Admin(_RestateApi):
    """Restate's admin API (default ``http://127.0.0.1:9070``)."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        super().__init__(url, timeout)

    def register(self, uri: str, *, force: bool = True) -> list[str]:
        """Register (or re-discover) a deployment; returns the service names it serves."""
        response = self._check(self.http.post("/deployments", json={"uri": uri, "force": force}))
        return [s["name"] for s in response.json().get("services", [])]

    def services(self) -> list[str]:
        return [s["name"] for s in self._check(self.http.get("/services")).json()["services"]]

    def subscriptions(self) -> list[dict[str, Any]]:
        return list(self._check(self.http.get("/subscriptions")).json()["subscriptions"])

    def subscribe(self, source: str, sink: str, options: dict[str, str] | None = None) -> None:
        """Create the subscription unless one with the same source and sink exists."""
        if any(s["source"] == source and s["sink"] == sink for s in self.subscriptions()):
            return
        body = {"source": source, "sink": sink, "options": options or {}}
        self._check(self.http.post("/subscriptions", json=body))

    def query(self, sql: str) -> list[dict[str, Any]]:
        response = self._check(
            self.http.post("/query", json={"query": sql}, headers={"accept": "application/json"})
        )
        return list(response.json()["rows"])

    def state(self, service: str, key: str) -> dict[str, Any]:
        """The K/V state of one object or workflow, JSON-decoded (like ``restate kv get``)."""
        quoted = key.replace("'", "''")
        rows = self.query(
            f"SELECT key, value_utf8 FROM state WHERE service_name = '{service}' AND service_key = '{quoted}'"
        )
        return {row["key"]: json.loads(row["value_utf8"]) for row in rows}

    def kill(self, invocation_id: str) -> None:
        self._check(self.http.patch(f"/invocations/{invocation_id}/kill"))

    def cancel(self, invocation_id: str) -> None:
        self._check(self.http.patch(f"/invocations/{invocation_id}/cancel"))
