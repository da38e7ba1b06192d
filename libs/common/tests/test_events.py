"""Subscriptions: the names a Kafka topic and its handler go by."""

from __future__ import annotations

from common.events import Subscription


def test_a_subscription_names_its_source_sink_and_dead_letter_topic() -> None:
    posts = Subscription("social-media-posts", "UserFeed", "ProcessPost")
    assert posts.source == "kafka://my-cluster/social-media-posts"
    assert posts.sink == "service://UserFeed/ProcessPost"
    assert posts.topics == ("social-media-posts", "social-media-posts.dlq")
