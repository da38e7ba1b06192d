"""Hostile HTTP requests to the event patterns: eventtransactions' ``UserFeed`` and
eventenrichment's ``PackageTracker``, the Kafka handlers included.

Called over HTTP, a Kafka handler answers invalid input with a 4xx whatever Kafka headers the
caller sends (``kafka.topic``, ``restate.subscription.id`` ...): only Restate's own Kafka
ingress may take the dead-letter branch. No broker is needed here; a request that did take
that branch would retry until it timed out and be caught as retried.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from toolkit.testing import Harness

from .checker import Probe, Target
from .profile import TIMEOUT, examples
from .strategies import KAFKA_CLAIMS, Request, ascii_text, requests
from .suite import handler_tests

pytestmark = [pytest.mark.e2e, pytest.mark.hostile, TIMEOUT]

POST = {"content": "hello", "metadata": "public"}
PACKAGE = {
    "finalDestination": "Berlin",
    "locations": [{"timestamp": "2024-05-01T09:00:00Z", "location": "Porto"}],
}
UPDATE = {"timestamp": "2024-05-01T10:00:00Z", "location": "Lisbon"}
REGISTERED = (("RegisterPackage", PACKAGE),)
TARGETS = [
    Target("UserFeed", "ProcessPost", POST, keyed=True),
    Target("PackageTracker", "RegisterPackage", PACKAGE, keyed=True),
    Target("PackageTracker", "UpdateLocation", UPDATE, keyed=True, prepare=REGISTERED),
    Target("PackageTracker", "GetPackageInfo", keyed=True, prepare=REGISTERED),
]
KAFKA_HANDLERS = TARGETS[0], TARGETS[2]


def start(harness: Harness) -> Probe:
    handles = [
        harness.service(
            "eventtransactions", EVENTTRANSACTIONS_POLL_SECONDS="0.1", EVENTTRANSACTIONS_PENDING__MODE="off"
        ),
        harness.service("eventenrichment"),
    ]
    return Probe(harness.ingress, harness.admin, handles, ("UserFeed", "PackageTracker"))


@pytest.fixture
def probe(harness: Harness) -> Probe:
    return start(harness)


test_no_request_wedges_a_handler, test_no_edge_request_wedges_a_handler = handler_tests(TARGETS)


claims = st.lists(
    st.tuples(st.sampled_from([*KAFKA_CLAIMS, "Restate.Subscription.Id", "KAFKA.TOPIC"]), ascii_text),
    min_size=1,
    max_size=6,
).map(lambda pairs: (("restate.subscription.id", "sub_1"), *pairs))


@pytest.mark.parametrize("target", KAFKA_HANDLERS, ids=repr)
@examples()
@given(data=st.data())
def test_kafka_headers_over_http_still_get_the_4xx(probe: Probe, target: Target, data: st.DataObject) -> None:
    """Whatever the body, a caller that claims to be the subscription is answered, never parked."""
    request = data.draw(requests(target.valid, "h-"), label="request")
    headers = data.draw(claims, label="kafka headers")
    probe.check(target, Request(request.body, request.content_type, headers, request.key))
