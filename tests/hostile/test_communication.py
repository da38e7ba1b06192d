"""Hostile requests to the communication patterns: durablerpc, queue, syncasync, webhookcallbacks.

Every handler gets random JSON, near-valid bodies, odd content types and headers, and odd keys;
``checker.Probe`` asserts a fast 2xx/4xx, nothing retried or stuck, nothing changed by a refusal,
and a working key afterwards. The webhook router runs twice: without a signing secret, and with
one, where the ``Stripe-Signature`` header is hostile too (signed with any timestamp, forged,
malformed, missing).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from webhookcallbacks import signature

from toolkit.testing import Harness

from .checker import Probe, Target
from .profile import TIMEOUT, examples
from .strategies import Request, ascii_text, requests
from .suite import handler_tests

pytestmark = [pytest.mark.e2e, pytest.mark.hostile, TIMEOUT]

SECRET = "whsec_hostile"
TASK = {"id": "task-1", "description": "some heavy work"}
EVENT = {
    "id": "evt_1",
    "type": "invoice.payment_failed",
    "created": 1_700_000_000,
    "data": {"object": {"id": "in_1", "customer": "cus_1"}},
}
TARGETS = [
    Target("ProductService", "Reserve", keyed=True),
    Target("AsyncTaskWorker", "RunTask", TASK),
    Target("DataUploadService", "Run", keyed=True, tolerated=frozenset({409})),
    Target(
        "DataUploadService",
        "ResultAsEmail",
        "someone@example.com",
        keyed=True,
        prepare=(("Run", None),),  # the URL promise is resolved: a valid ResultAsEmail answers at once
        tolerated=frozenset({409}),
    ),
    Target("WebhookCallbackRouter", "OnStripeEvent", EVENT),
]
SERVICES = (
    "ProductService",
    "AsyncTaskWorker",
    "DataUploadService",
    "WebhookCallbackRouter",
    "PaymentTracker",
)


def start(harness: Harness, **webhook_env: str) -> Probe:
    handles = [
        harness.service("durablerpc"),
        harness.service("queue", QUEUE_WORK_SECONDS="0"),
        harness.service("syncasync", SYNCASYNC_FAST_UPLOAD_SECONDS="0", SYNCASYNC_SLOW_SHARE="0"),
        harness.service("schedulingtasks", SCHEDULINGTASKS_EMAIL_SECONDS="0"),
        harness.service("webhookcallbacks", **webhook_env),
    ]
    return Probe(harness.ingress, harness.admin, handles, SERVICES)


@pytest.fixture
def probe(harness: Harness) -> Probe:
    return start(harness)


test_no_request_wedges_a_handler, test_no_edge_request_wedges_a_handler = handler_tests(TARGETS)


def sign_now(body: bytes) -> dict[str, str]:
    return {"stripe-signature": signature.sign(SECRET, body, int(time.time()))}


SIGNED = "<signed with the secret at the drawn time>"
huge_times = st.sampled_from([10**309, -(10**309), 10**4000, 2**63, -(2**63), 253_402_300_800])
timestamps = st.one_of(st.just(None), st.just(None), st.integers(), huge_times)  # None: now
signatures = st.one_of(
    st.just(SIGNED),
    st.just(SIGNED),
    st.just(f"t={int(time.time())},v1={'0' * 64}"),
    ascii_text,
    st.sampled_from(["t=,v1=", "t=nan,v1=ab", "v1=ab", "t=1", "t=1_000,v1=x", "t=" + "9" * 5000 + ",v1=a"]),
)


@pytest.fixture
def signed_probe(harness: Harness) -> Iterator[Probe]:
    yield start(harness, WEBHOOKCALLBACKS_SIGNING_SECRET=SECRET)
    start(harness)  # the unsigned router again, as every other test expects


@examples()
@given(request=requests(EVENT), stamp=timestamps, header=signatures)
@example(request=Request(json.dumps(EVENT).encode()), stamp=10**309, header=SIGNED)
@example(request=Request(b"{not json"), stamp=-(10**309), header=SIGNED)
def test_no_webhook_delivery_wedges_the_signed_router(
    signed_probe: Probe, request: Request, stamp: int | None, header: str
) -> None:
    """A hostile delivery, mostly signed with the secret (so that its body is read at all)."""
    if header == SIGNED:
        header = signature.sign(SECRET, request.body, int(time.time()) if stamp is None else stamp)
    target = Target("WebhookCallbackRouter", "OnStripeEvent", EVENT, sign=sign_now)
    headers = (*request.headers, ("stripe-signature", header))
    signed_probe.check(target, Request(request.body, request.content_type, headers))
