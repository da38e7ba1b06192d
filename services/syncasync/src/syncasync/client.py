"""``uv run --package syncasync client [--id ID] [--timeout SECONDS]``: upload, or be mailed.

Calls ``DataUploadService/<id>/Run`` and waits up to the timeout
(``SYNCASYNC_CLIENT_TIMEOUT_SECONDS``, default 5 s); for an id used before, it waits for that
upload instead. A fast upload prints its URL. A slow one keeps running in Restate: the client
sends ``ResultAsEmail`` one-way with ``<id>@example.com`` and says the link will be mailed.
"""

from __future__ import annotations

import argparse
import secrets
import sys

import httpx

from common.ingress import Ingress, RestateHttpError
from syncasync.settings import Settings


def run_or_attach(ingress: Ingress, upload_id: str, timeout: float) -> str:
    """The URL of the upload, started now or (same id again) earlier; raises on timeout."""
    try:
        return str(ingress.call("DataUploadService", "Run", key=upload_id, timeout=timeout))
    except RestateHttpError as error:
        if error.status != 409:  # 409: Run of this id was invoked before; wait for that one
            raise
        return str(ingress.attach_workflow("DataUploadService", upload_id, timeout=timeout))


def main(argv: list[str] | None = None) -> int:
    settings = Settings()
    parser = argparse.ArgumentParser(prog="client", description=__doc__.splitlines()[0])
    parser.add_argument("--id", help="upload id, the workflow id (default: a new one)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=settings.client_timeout_seconds,
        help="seconds to wait for the upload before asking for an email",
    )
    args = parser.parse_args(argv)
    upload_id = args.id or f"upload-{secrets.token_hex(4)}"
    ingress = Ingress(settings.ingress_url)
    print(f"Uploading data for {upload_id}", flush=True)
    try:
        try:
            url = run_or_attach(ingress, upload_id, args.timeout)
        except httpx.TimeoutException:
            address = f"{upload_id}@example.com"
            ingress.send("DataUploadService", "ResultAsEmail", address, key=upload_id)
            print(f"Slow upload: the link will be mailed to {address}")
            return 0
    except RestateHttpError as error:
        print(f"upload {upload_id} failed: {error}", file=sys.stderr)
        return 1
    except httpx.TransportError as error:
        print(f"cannot reach Restate at {settings.ingress_url}: {error}", file=sys.stderr)
        return 1
    finally:
        ingress.close()
    print(f"Fast upload: the data is at {url}")
    return 0
