"""A fake object storage API (think S3): create a bucket, upload data to it.

The storage service names a new bucket itself and answers with its URL; a repeated request with
the same idempotency key gets the same bucket back instead of a second one. An upload takes as
long as the caller says (the data is big or small) and is stored once per key.
"""

from __future__ import annotations

import secrets

from common.fakes.base import FakeApi


class StorageApi(FakeApi):
    api = "storage"

    async def create_bucket(self, key: str) -> str:
        def new_bucket() -> str:
            return f"https://storage.example.com/{secrets.token_hex(6)}/"

        return str(await self.perform("create-bucket", key, {}, new_bucket))

    async def upload(self, key: str, url: str, seconds: float) -> str:
        """Upload to the bucket at ``url``; takes ``seconds``. Returns the URL of the data."""
        return str(await self.perform("upload", key, {"url": url}, lambda: url, latency=seconds))
