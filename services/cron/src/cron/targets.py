"""Is a job's target something Restate can call? Asked of Restate's admin API.

A job names its target by service and handler, like a ``curl`` to the ingress would. Before the
job is stored, ``problem_with`` looks the service up (``GET /services/{name}``) and answers with
what is wrong, in words a caller can act on, or ``None``:

- the service or handler is not registered (with the closest registered names as a hint);
- a virtual object or workflow without a ``key``, or a plain service with one;
- a ``payload`` for a handler that takes no input, or none for a handler that needs one.

A 404 from the admin API is an answer; any other failure (the admin API down) raises, and the
caller's durable step retries it.
"""

from __future__ import annotations

import difflib
from typing import Any
from urllib.parse import quote

import httpx

from cron.models import JobRequest


def _suggest(name: str, candidates: list[str]) -> str:
    folded = {c.lower(): c for c in candidates}
    close = difflib.get_close_matches(name.lower(), list(folded), n=3, cutoff=0.6)
    return f"; did you mean {', '.join(repr(folded[c]) for c in close)}?" if close else ""


async def problem_with(admin_url: str, request: JobRequest) -> str | None:
    async with httpx.AsyncClient(base_url=admin_url, timeout=10) as admin:
        response = await admin.get(f"/services/{quote(request.service, safe='')}")
        if response.status_code == 404:
            names = [s["name"] for s in (await admin.get("/services")).raise_for_status().json()["services"]]
            return f"unknown target service {request.service!r}{_suggest(request.service, names)}"
        service: dict[str, Any] = response.raise_for_status().json()
    where = f"{request.service}/{request.method}"
    handlers = {h["name"]: h for h in service["handlers"]}
    target = handlers.get(request.method)
    if target is None:
        hint = _suggest(request.method, list(handlers)) or f"; it has {', '.join(sorted(handlers))}"
        return f"unknown target handler {where!r}{hint}"
    keyed = service["ty"] in ("VirtualObject", "Workflow")
    if keyed and request.key is None:
        return f"{request.service} is a {service['ty']}: give the key of the one to call"
    if not keyed and request.key is not None:
        return f"{request.service} is a service, not an object: leave out the key"
    takes = str(target.get("input_description", ""))
    if takes == "none" and request.payload is not None:
        return f"{where} takes no input: leave out the payload"
    if request.payload is None and "none" not in takes:
        return f"{where} needs input ({takes}): give a payload"
    return None
