"""Sync to async: wait for a result while it is quick, have it mailed when it is not.

``DataUploadService`` is a workflow keyed by upload id: ``Run`` executes once per id. It creates
a bucket, uploads the data (fast most of the time, sometimes slow) and resolves the durable
promise ``url``. A client calls ``Run`` and waits a few seconds. If that is not enough it stops
waiting (the workflow goes on regardless) and sends ``ResultAsEmail``: a shared handler of the
same workflow that waits on the same promise, whether it resolved long ago or is still pending,
and then mails the link once.

    client --Run, waits <= 5 s--> DataUploadService/<id>/Run
      |                             create-bucket -> upload -> resolve promise "url" --> URL
      | (timeout)                                                   |
      +--ResultAsEmail/send-->  DataUploadService/<id>/ResultAsEmail: await "url" -> send-email
"""

from __future__ import annotations

import restate

from common.fakes import Ledger
from common.fakes.email import EmailApi
from common.fakes.storage import StorageApi
from common.handlers import handler
from syncasync.models import EmailAddress
from syncasync.settings import Settings

log = restate.getLogger(__name__)

URL_PROMISE = "url"


def create_services(settings: Settings) -> list[restate.Workflow]:
    ledger = Ledger(settings.fakes_db)
    storage = StorageApi(ledger, failure=settings.failure)
    mail = EmailApi(ledger, failure=settings.failure)
    uploads = restate.Workflow("DataUploadService")

    @handler(uploads.main, name="Run")
    async def run(ctx: restate.WorkflowContext) -> str:
        upload_id = ctx.key()
        # Drawn from the invocation's seeded random: the same choice on every replay.
        seconds = settings.upload_seconds(ctx.random().random())
        log.info("Creating bucket for upload %s", upload_id)
        # The workflow id is the idempotency key: Run executes once per id, so do its effects.
        url = await ctx.run_typed("create-bucket", storage.create_bucket, key=upload_id)
        log.info("Uploading data to %s (takes %.1f s)", url, seconds)
        await ctx.run_typed("upload", storage.upload, key=upload_id, url=url, seconds=seconds)
        log.info("Upload done: %s", url)
        await ctx.promise(URL_PROMISE, type_hint=str).resolve(url)
        return url

    @handler(uploads.handler, name="ResultAsEmail")
    async def result_as_email(ctx: restate.WorkflowSharedContext, address: EmailAddress) -> None:
        log.info("Waiting for upload %s to mail its link to %s", ctx.key(), address)
        url = await ctx.promise(URL_PROMISE, type_hint=str).value()
        message_key = str(ctx.uuid())  # one message per ResultAsEmail invocation, even across retries
        await ctx.run_typed(
            "send-email",
            mail.send,
            key=message_key,
            to=address,
            subject=f"Your upload {ctx.key()} is ready",
            body=f"Your data is at {url}",
        )
        log.info("Mailed %s to %s", url, address)

    return [uploads]
