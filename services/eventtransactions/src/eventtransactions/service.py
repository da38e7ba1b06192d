"""Transactional event processing: Kafka records drive durable handlers, one user at a time.

Restate subscribes ``UserFeed/ProcessPost`` to the topic ``social-media-posts``; the record key
(the user id) is the object key. For one user, posts are processed one after the other in the
order they were produced; different users run in parallel, so a post stuck in moderation never
holds up anyone else's (no head-of-line blocking, even on a single partition). Each step is
durable: after a crash the handler resumes where it was, with the post id it already got.

    social-media-posts --(user, post)--> UserFeed/<user>/ProcessPost
        ctx.run("create-post")       -> post id (keyed by a request id from ctx: created once)
        loop: ctx.run("check-status") == PENDING -> ctx.sleep(poll interval)   (durable timer)
        ctx.run("update-feed")       -> the post enters the user's feed once

A record that is not a valid post goes to ``social-media-posts.dlq`` (see ``common.events``).
"""

from __future__ import annotations

from datetime import timedelta

import restate

from common.events import DeadLetters, Subscription, event_handler
from common.fakes import Ledger
from common.fakes.moderation import PENDING, ModerationApi
from common.fakes.socialmedia import SocialMediaApi
from eventtransactions.models import SocialMediaPost
from eventtransactions.settings import Settings

POSTS = Subscription("social-media-posts", "UserFeed", "ProcessPost")

log = restate.getLogger(__name__)


def create_services(settings: Settings) -> list[restate.VirtualObject]:
    ledger = Ledger(settings.fakes_db)
    social = SocialMediaApi(ledger, failure=settings.failure)
    moderation = ModerationApi(ledger, pending=settings.pending)
    dead_letters = DeadLetters(POSTS, settings.kafka_bootstrap_servers)
    poll = timedelta(seconds=settings.poll_seconds)
    user_feed = restate.VirtualObject("UserFeed")

    @event_handler(user_feed.handler, name="ProcessPost", dead_letters=dead_letters)
    async def process_post(ctx: restate.ObjectContext, post: SocialMediaPost) -> None:
        user_id = ctx.key()
        # The request id comes from ctx: a replay after a crash reuses it, so the post is created
        # once and the same post id comes back.
        post_id = await ctx.run_typed(
            "create-post",
            social.create_post,
            request_id=str(ctx.uuid()),
            user_id=user_id,
            content=post.content,
            metadata=post.metadata,
        )
        log.info("Created post %s for user %s", post_id, user_id)
        check = 1
        while (
            await ctx.run_typed(
                "check-status", moderation.status, post_id=post_id, check=check, content=post.content
            )
            == PENDING
        ):
            log.info("Post %s is still pending; checking again in %ss", post_id, poll.total_seconds())
            await ctx.sleep(poll)
            check += 1
        log.info("Post %s was approved", post_id)
        await ctx.run_typed("update-feed", social.update_feed, user_id=user_id, post_id=post_id)
        log.info("Updated the feed of user %s with post %s", user_id, post_id)

    return [user_feed]
