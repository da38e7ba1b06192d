"""Drivers of the request/response patterns that run work: the queue, uploads and fan-out."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from typing import ClassVar

from toolkit.chaos.calls import path
from toolkit.chaos.workload import Checks, Driver

OK = 200


class Tasks(Driver):
    """``AsyncTaskWorker/RunTask`` sent one-way with the task id as idempotency key, some with a
    delay, some submitted twice at once: one invocation, the work done once, never early."""

    pattern = "queue"
    env: ClassVar[dict[str, str]] = {
        "QUEUE_WORK_SECONDS": "0.2",
        "QUEUE_FAILURE__MODE": "random",
        "QUEUE_FAILURE__RATE": "0.2",
    }

    async def step(self, n: int) -> None:
        task = self.key("task", n)
        delay = self.rng.choice([None, None, 0.5, 2.0])
        body = {"id": task, "description": f"work of {task}"}
        times = 2 if self.rng.random() < 0.15 else 1
        await asyncio.gather(
            *(
                self.invoke(
                    "task" if delay is None else "task-delayed",
                    path("AsyncTaskWorker", "RunTask"),
                    body,
                    idempotency_key=task,
                    delay=delay,
                    expected={"task": task, "delay": delay or 0.0},
                )
                for _ in range(times)
            )
        )

    def check(self, checks: Checks) -> None:
        self.answered(checks)
        done = defaultdict(list)
        for effect in self.ledger.effects("heavywork", "process"):
            done[effect.request["description"]].append(effect)
        invocations = defaultdict(set)
        for call in self.calls:
            task = call.expected["task"]
            invocations[task].add(call.invocation)
            if call.status is None:
                continue
            want = {"description": f"work of {task}: DONE"}
            checks.expect(
                "expected-answer",
                self.pattern,
                call.status == OK and call.answer == want,
                f"{task}: {call.status} {call.answer!r}",
                [task],
            )
            effects = done[f"work of {task}"]
            checks.expect(
                "effects-once",
                self.pattern,
                len(effects) == 1,
                f"{task}: worked {len(effects)} times",
                [task],
            )
            early = [e.at - call.sent for e in effects if e.at < call.sent + call.expected["delay"]]
            checks.expect(
                "expected-answer",
                self.pattern,
                not early,
                f"{task} delayed {call.expected['delay']} s ran after {early} s",
                [task],
            )
        for task, ids in invocations.items():
            checks.expect(
                "effects-once", self.pattern, len(ids) == 1, f"{task} submitted twice became {ids}", [task]
            )


class Uploads(Driver):
    """``DataUploadService/<id>/Run``, fast and slow, some with ``ResultAsEmail`` sent alongside:
    one bucket and one upload per id, the URL answered, exactly one email where one was asked."""

    pattern = "syncasync"
    env: ClassVar[dict[str, str]] = {
        "SYNCASYNC_FAST_UPLOAD_SECONDS": "0.2",
        "SYNCASYNC_SLOW_UPLOAD_SECONDS": "2",
        "SYNCASYNC_SLOW_SHARE": "0.3",
        "SYNCASYNC_FAILURE__MODE": "random",
        "SYNCASYNC_FAILURE__RATE": "0.15",
    }

    async def step(self, n: int) -> None:
        upload = self.key("upload", n)
        run = self.invoke("upload", path("DataUploadService", "Run", upload), expected={"upload": upload})
        if self.rng.random() < 0.4:
            mail = self.invoke(
                "upload-mail",
                path("DataUploadService", "ResultAsEmail", upload),
                f"{upload}@example.com",
                idempotency_key=f"mail-{upload}",
                expected={"upload": upload},
            )
            await asyncio.gather(run, mail)
        else:
            await run

    def check(self, checks: Checks) -> None:
        self.answered(checks)
        buckets = Counter(e.key for e in self.ledger.effects("storage", "create-bucket"))
        uploads = {e.key: e for e in self.ledger.effects("storage", "upload")}
        mails = defaultdict(list)
        for effect in self.ledger.effects("email", "send"):
            mails[effect.request["to"]].append(effect)
        runs = {c.expected["upload"]: c for c in self.calls if c.what == "upload"}
        mailed = {c.expected["upload"] for c in self.calls if c.what == "upload-mail"}
        for upload, call in runs.items():
            if call.status is None:
                continue
            url = uploads[upload].result if upload in uploads else None
            checks.expect(
                "expected-answer",
                self.pattern,
                call.status == OK and call.answer == url and url,
                f"{upload}: {call.status} {call.answer!r}, uploaded to {url!r}",
                [upload],
            )
            checks.expect(
                "effects-once",
                self.pattern,
                buckets[upload] == 1 and upload in uploads,
                f"{upload}: {buckets[upload]} buckets, uploaded: {upload in uploads}",
                [upload],
            )
            sent = mails[f"{upload}@example.com"]
            want = 1 if upload in mailed else 0
            checks.expect(
                "effects-once",
                self.pattern,
                len(sent) == want and all(url in m.request["body"] for m in sent),
                f"{upload}: {len(sent)} emails, {want} asked for",
                [upload],
            )


class FanOut(Driver):
    """``FanOutWorker/Run`` of 1 to 12 parts: every part done exactly once, in order."""

    pattern = "parallelizework"
    env: ClassVar[dict[str, str]] = {
        "PARALLELIZEWORK_WORK_SECONDS_MIN": "0.05",
        "PARALLELIZEWORK_WORK_SECONDS_MAX": "0.5",
    }

    async def step(self, n: int) -> None:
        job = self.key("fanout", n)
        parts = [f"{job}-p{i}" for i in range(self.rng.randint(1, 12))]
        await self.invoke(
            "fanout",
            path("FanOutWorker", "Run"),
            {"description": ",".join(parts)},
            idempotency_key=job,
            expected={"parts": parts},
        )

    def check(self, checks: Checks) -> None:
        self.answered(checks)
        for call in self.calls:
            if call.status is None:
                continue
            want = {"description": ",".join(f"{p}: DONE" for p in call.expected["parts"])}
            checks.expect(
                "expected-answer",
                self.pattern,
                call.status == OK and call.answer == want,
                f"{call.target} of {len(call.expected['parts'])} parts: {call.status} {call.answer!r}",
                [call.target],
            )
