"""Drivers of the request/response patterns: durable RPC, the queue, uploads, fan-out, machines."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from typing import ClassVar

from toolkit.chaos.calls import path
from toolkit.chaos.workload import Checks, Driver

OK = 200


class Reservations(Driver):
    """``ProductService/Reserve``: new products (each reserved once) and a few hot products that
    many reservations race for (exactly one wins); some reservations are sent twice."""

    pattern = "durablerpc"
    weight = 2.0
    HOT = 4

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.products: set[str] = set()

    async def step(self, n: int) -> None:
        hot = self.rng.random() < 0.5
        product = f"{self.ctx.run}-hot-{self.rng.randrange(self.HOT)}" if hot else self.key("product", n)
        self.products.add(product)
        reservation = f"reservation-{n}"
        target = path("ProductService", "Reserve", product)
        times = 2 if self.rng.random() < 0.15 else 1
        await asyncio.gather(
            *(
                self.invoke(
                    "reserve-hot" if hot else "reserve",
                    target,
                    idempotency_key=reservation,
                    expected={"product": product, "reservation": reservation, "hot": hot},
                )
                for _ in range(times)
            )
        )

    def check(self, checks: Checks) -> None:
        self.answered(checks)
        wins: dict[str, set[str]] = defaultdict(set)
        answers: dict[tuple[str, str], set[object]] = defaultdict(set)
        for call in self.calls:
            if call.status != OK:
                if call.status is not None:
                    checks.expect(
                        "expected-answer",
                        self.pattern,
                        False,
                        f"{call.target}: {call.status} {call.answer}",
                        [call.target],
                    )
                continue
            product, reservation = call.expected["product"], call.expected["reservation"]
            answers[(product, reservation)].add(call.answer)
            if call.answer is True:
                wins[product].add(reservation)
            if not call.expected["hot"]:
                checks.expect(
                    "expected-answer",
                    self.pattern,
                    call.answer is True,
                    f"the only reservation of {product} answered {call.answer!r}",
                    [call.target],
                )
        for (product, reservation), seen in answers.items():
            checks.expect(
                "expected-answer",
                self.pattern,
                len(seen) == 1,
                f"{product} {reservation} sent twice answered {sorted(map(str, seen))}",
                [product],
            )
        reserved = {
            row["service_key"]
            for row in self.ctx.admin.query(
                "SELECT service_key FROM state WHERE service_name = 'ProductService' AND key = 'reserved'"
                f" AND service_key LIKE '{self.ctx.run}-%' AND value_utf8 = 'true'"
            )
        }
        for product in sorted(self.products):
            checks.expect(
                "one-reservation",
                self.pattern,
                len(wins[product]) == 1 and product in reserved,
                f"{product}: {len(wins[product])} reservations won {sorted(wins[product])}, "
                f"state reserved: {product in reserved}",
                [product],
            )


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


class Machines(Driver):
    """``MachineOperator`` set up and torn down, one request at a time per machine, so every
    answer is known; each transition begins and completes exactly once."""

    pattern = "statefulactors"
    weight = 1.5
    env: ClassVar[dict[str, str]] = {
        "STATEFULACTORS_TRANSITION_SECONDS": "0.3",
        "STATEFULACTORS_FAILURE__RATE": "0.2",
    }
    COUNT = 6

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.names = [self.key("machine", i) for i in range(self.COUNT)]
        self.locks = {m: asyncio.Lock() for m in self.names}
        self.up = dict.fromkeys(self.names, False)
        self.transitions: Counter[str] = Counter()

    async def step(self, n: int) -> None:
        machine = self.rng.choice(self.names)
        handler = self.rng.choice(["SetUp", "TearDown"])
        async with self.locks[machine]:
            if handler == "SetUp":
                want = (
                    f"{machine} is already up, so nothing to do"
                    if self.up[machine]
                    else f"{machine} is now up"
                )
            else:
                want = (
                    f"{machine} is now down" if self.up[machine] else f"{machine} is not up, cannot tear down"
                )
            call = await self.invoke(
                handler,
                path("MachineOperator", handler, machine),
                idempotency_key=f"op-{n}",
                expected={"machine": machine, "answer": want},
            )
            if call.status == OK and call.answer == want and "is now" in want:
                self.up[machine] = handler == "SetUp"
                self.transitions[machine] += 1

    def check(self, checks: Checks) -> None:
        self.answered(checks)
        for call in self.calls:
            if call.status is not None:
                checks.expect(
                    "expected-answer",
                    self.pattern,
                    call.status == OK and call.answer == call.expected["answer"],
                    f"{call.target}: {call.status} {call.answer!r}, expected {call.expected['answer']!r}",
                    [call.target],
                )
        for op in ("begin", "complete"):
            done = Counter(e.request["machine"] for e in self.ledger.effects("machines", op))
            for machine in self.names:
                checks.expect(
                    "effects-once",
                    self.pattern,
                    done[machine] == self.transitions[machine],
                    f"{machine}: {done[machine]} transitions {op}, {self.transitions[machine]} made",
                    [machine],
                )
