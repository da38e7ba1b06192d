"""The services' own spans, inside the Restate server's trace of the invocation they serve.

The Restate server traces every invocation (``tracing-endpoint``) and sends the trace context
with every attempt (W3C ``traceparent`` among the attempt headers). The SDK's ``RestateTracer``
parents spans on it, so a span made here sits in the same trace as the server's spans, under the
invocation that made it; spans are not made again while a handler replays its journal.

Spans are exported only when an OTLP/HTTP endpoint is configured, with OpenTelemetry's own
variables: ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` (the whole URL, ``.../v1/traces``) or
``OTEL_EXPORTER_OTLP_ENDPOINT`` (the base URL). ``patterns up --tracing`` and the compose file set
them. The service name is the pattern's, unless ``OTEL_SERVICE_NAME`` says otherwise. Without an
endpoint, ``span`` does nothing and costs a variable lookup.

What gets a span: every call to a fake external API (``common.fakes.base``), named
``<api>.<operation>`` (``payments.charge``), with the idempotency key and the attempt, marked as an
error when the call was declined or failed.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from restate.ext.tracing import RestateTracer
from restate.server_context import current_context

log = logging.getLogger(__name__)

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")

_tracer: RestateTracer | None = None
_provider: Any = None


def configured_endpoint() -> str | None:
    for name in ENDPOINT_VARIABLES:
        if os.environ.get(name):
            return os.environ[name]
    return None


def configure_tracing(service_name: str) -> bool:
    """Export spans over OTLP/HTTP if an endpoint is configured; say whether it is."""
    global _tracer, _provider
    endpoint = configured_endpoint()
    if endpoint is None:
        return False
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    name = os.environ.get("OTEL_SERVICE_NAME") or service_name
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(), schedule_delay_millis=500))
    _provider = provider
    _tracer = RestateTracer(provider.get_tracer("restate-patterns"))
    log.info("exporting spans of %s to %s", name, endpoint)
    return True


def shutdown_tracing() -> None:
    """Send the spans still buffered (at the end of ``serve``)."""
    global _tracer, _provider
    if _provider is not None:
        _provider.shutdown()
    _tracer = _provider = None


@contextmanager
def span(name: str, **attributes: str | int | float | bool) -> Iterator[trace.Span | None]:
    """A span in the current invocation's trace, or nothing outside a handler or when not tracing.
    An exception leaving it marks the span as an error and is raised again."""
    if _tracer is None or current_context() is None:
        yield None
        return
    with _tracer.start_as_current_span(name, attributes=attributes) as current:
        yield current
