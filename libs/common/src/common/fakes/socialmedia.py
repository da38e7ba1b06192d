"""A fake social-media backend: creates posts and puts them into users' feeds.

``create_post`` takes the caller's request id as idempotency key: a retry with the same id gets
the same post id back and creates nothing new. ``update_feed`` is keyed by the post id, so a
post enters its user's feed once however often the update is retried.
"""

from __future__ import annotations

import hashlib

from common.fakes.base import FakeApi


class SocialMediaApi(FakeApi):
    api = "socialmedia"

    async def create_post(self, request_id: str, user_id: str, content: str, metadata: str) -> str:
        post_id = "post-" + hashlib.sha256(request_id.encode()).hexdigest()[:12]
        request = {"user": user_id, "content": content, "metadata": metadata}
        return str(await self.perform("create-post", request_id, request, lambda: post_id, subject=content))

    async def update_feed(self, user_id: str, post_id: str) -> str:
        request = {"user": user_id, "post": post_id}
        return str(await self.perform("update-feed", post_id, request, lambda: "UPDATED", subject=user_id))
