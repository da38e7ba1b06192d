"""DataUploadService against a real Restate server: fast and slow paths, the promise, crashes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from common.fakes import Effect
from common.ingress import Admin, Ingress
from toolkit.testing import Harness, ServiceHandle
from toolkit.waiting import wait_until

pytestmark = pytest.mark.e2e

FAST = {"SYNCASYNC_SLOW_SHARE": "0", "SYNCASYNC_FAST_UPLOAD_SECONDS": "0.1"}
SLOW = {"SYNCASYNC_SLOW_SHARE": "1", "SYNCASYNC_SLOW_UPLOAD_SECONDS": "3"}


def emails_to(service: ServiceHandle, address: str) -> list[Effect]:
    return [e for e in service.ledger.effects("email", "send") if e.request["to"] == address]


def uploads_of(service: ServiceHandle, upload_id: str) -> list[Effect]:
    return [e for e in service.ledger.effects("storage", "upload") if e.key == upload_id]


def client(harness: Harness, *args: str) -> str:
    command = [str(Path(sys.executable).with_name("client")), "syncasync", *args]
    env = {"RESTATE_INGRESS_URL": harness.server.ingress_url}
    return subprocess.run(command, env=env, capture_output=True, text=True, check=True, timeout=60).stdout


def run(ingress: Ingress, upload_id: str) -> str:
    return str(ingress.call("DataUploadService", "Run", key=upload_id))


def test_fast_upload_prints_the_url_and_sends_no_email(
    harness: Harness, ingress: Ingress, unique: str
) -> None:
    service = harness.service("syncasync", **FAST)
    out = client(harness, "--id", unique, "--timeout", "10")
    url = ingress.attach_workflow("DataUploadService", unique)
    assert url.startswith("https://storage.example.com/")
    assert f"Fast upload: the data is at {url}" in out
    assert emails_to(service, f"{unique}@example.com") == []
    assert len(uploads_of(service, unique)) == 1


def test_slow_upload_mails_exactly_one_link_with_the_url(
    harness: Harness, ingress: Ingress, unique: str
) -> None:
    service = harness.service("syncasync", **SLOW)
    address = f"{unique}@example.com"
    out = client(harness, "--id", unique, "--timeout", "0.5")
    assert f"Slow upload: the link will be mailed to {address}" in out
    assert emails_to(service, address) == []  # the upload is still running
    url = ingress.attach_workflow("DataUploadService", unique, timeout=30)
    (mail,) = wait_until(lambda: emails_to(service, address), timeout=30, what="the email")
    assert url in mail.request["body"]
    assert unique in mail.request["subject"]
    assert len(emails_to(service, address)) == 1


def test_result_as_email_sent_before_run_waits_for_the_promise(
    harness: Harness, ingress: Ingress, unique: str
) -> None:
    service = harness.service("syncasync", **FAST)
    address = f"early-{unique}@example.com"
    asked = ingress.send("DataUploadService", "ResultAsEmail", address, key=unique)
    assert ingress.output(asked.invocation_id).status_code == 470  # not ready: waits for the promise
    url = run(ingress, unique)
    assert ingress.attach(asked.invocation_id, timeout=30) is None
    (mail,) = emails_to(service, address)
    assert url in mail.request["body"]


def test_result_as_email_after_the_promise_resolved_answers_at_once(
    harness: Harness, ingress: Ingress, unique: str
) -> None:
    service = harness.service("syncasync", **FAST)
    url = run(ingress, unique)
    address = f"late-{unique}@example.com"
    assert ingress.call("DataUploadService", "ResultAsEmail", address, key=unique, timeout=10) is None
    (mail,) = emails_to(service, address)
    assert url in mail.request["body"]


def test_a_second_run_of_the_same_id_does_not_upload_again(
    harness: Harness, ingress: Ingress, unique: str
) -> None:
    service = harness.service("syncasync", **FAST)
    url = run(ingress, unique)
    again = ingress.raw("DataUploadService", "Run", key=unique)
    assert again.status_code == 409, again.text
    assert f"Fast upload: the data is at {url}" in client(harness, "--id", unique)
    assert service.ledger.attempts("storage", "create-bucket", unique) == 1
    assert service.ledger.attempts("storage", "upload", unique) == 1


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (7, "body: Input should be a valid string"),
        ("not-an-email", "'not-an-email' is not an email address"),
        ({"email": "a@example.com"}, "body: Input should be a valid string"),
        (b'"a@example.com', "not valid JSON"),
        (None, "request body is empty"),
    ],
)
def test_bad_email_is_a_400_naming_the_problem_and_changes_nothing(
    harness: Harness, ingress: Ingress, admin: Admin, unique: str, body: Any, problem: str
) -> None:
    service = harness.service("syncasync", **FAST)
    emails_before = len(service.ledger.effects("email", "send"))
    response = ingress.raw("DataUploadService", "ResultAsEmail", body, key=unique, timeout=10)
    assert response.status_code == 400, response.text
    assert problem in response.json()["message"]
    (rejected,) = admin.query(
        "SELECT status, completion_result FROM sys_invocation "
        f"WHERE target_service_key = '{unique}' AND target_handler_name = 'ResultAsEmail'"
    )
    assert rejected == {"status": "completed", "completion_result": "failure"}  # at once, not retried
    run(ingress, unique)  # resolving the promise wakes no rejected request: no email
    assert len(service.ledger.effects("email", "send")) == emails_before


def test_run_takes_no_input(harness: Harness, ingress: Ingress, unique: str) -> None:
    service = harness.service("syncasync", **FAST)
    response = ingress.raw("DataUploadService", "Run", {"size": 1}, key=unique, timeout=10)
    assert response.status_code == 400, response.text
    assert service.ledger.attempts("storage", "create-bucket", unique) == 0
    assert run(ingress, unique)  # the rejected call did not use up the workflow id


@pytest.mark.crash
def test_killing_the_service_mid_upload_still_uploads_once(
    harness: Harness, ingress: Ingress, unique: str
) -> None:
    service = harness.service("syncasync", **SLOW)
    ingress.send("DataUploadService", "Run", key=unique)
    wait_until(lambda: service.ledger.attempts("storage", "upload", unique), timeout=30, what="the upload")
    service.kill()
    service.restart()
    url = ingress.attach_workflow("DataUploadService", unique, timeout=60)
    assert service.ledger.attempts("storage", "upload", unique) == 2
    assert [e.result for e in uploads_of(service, unique)] == [url]
    assert service.ledger.attempts("storage", "create-bucket", unique) == 1
