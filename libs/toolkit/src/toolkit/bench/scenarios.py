"""What the benchmark runs, in this order: the floor, every pattern's main path, fan-out's growth,
the rate limiter, Kafka, the stack's start-up and cron's jitter, and the concurrency sweeps.
``toolkit.bench.scenario`` says what a scenario is."""

from __future__ import annotations

from toolkit.bench.events import POSTS_ENV, RATE, kafka
from toolkit.bench.floor import NAME as FLOOR
from toolkit.bench.flows import CRON_SECONDS, cron_jitter, queue_attach
from toolkit.bench.growth import ENV as GROWTH_ENV
from toolkit.bench.growth import WORK_SECONDS, fanout
from toolkit.bench.model import Request
from toolkit.bench.paced import limiter
from toolkit.bench.scenario import JSON, Scenario, all_of, body, each, effects, states
from toolkit.bench.startup import stack_up

NO_SAGA_FAULTS = {
    "SAGAS_API_SECONDS": "0",
    **{
        f"SAGAS_{api}__{kind}__MODE": "off"
        for api in ("FLIGHTS", "CARS", "PAYMENT")
        for kind in ("DECLINE", "FAILURE")
    },
}
DECLINE = {**NO_SAGA_FAULTS, "SAGAS_PAYMENT__DECLINE__MODE": "first", "SAGAS_PAYMENT__DECLINE__FIRST": "1"}
SAGA_DONE = (("flights", "confirm"), ("cars", "confirm"), ("payments", "charge"))
SAGA_UNDONE = (("flights", "cancel"), ("cars", "cancel"), ("payments", "refund"))
BOOKING = {
    "flights": {"flight_id": "LH123", "passenger_name": "Ann"},
    "car": {"pickup_location": "Airport", "rental_date": "2024-12-16"},
    "payment_info": {"card_number": "4111111111111111", "amount": 100},
}
PAYMENT_FAILED = {
    "type": "invoice.payment_failed",
    "created": 1_700_000_000,
    "data": {"id": "in", "customer": "cus"},
}


def _paid(invoice: str) -> dict[str, object]:
    data = {"object": {"id": invoice, "customer": "cus_bench"}}
    return {
        "id": f"evt_{invoice}",
        "type": "invoice.payment_succeeded",
        "created": 1_700_000_000,
        "data": data,
    }


def _floors() -> list[Scenario]:
    noop = each(lambda run, i: f"/BenchFloor/Noop?run={run}&i={i}")
    return [
        Scenario(
            "floor-service",
            FLOOR,
            "a trivial service handler through Restate",
            noop,
            group="floor",
            on_any_stack=True,
            floor=None,
        ),
        Scenario(
            "floor-object",
            FLOOR,
            "a trivial virtual object: get and set one counter, a new key per request",
            each(lambda run, i: f"/BenchCounter/{run}-{i}/Touch"),
            check=states("BenchCounter", "count", 1),
            group="floor",
            on_any_stack=True,
            floor=None,
        ),
        Scenario(
            "floor-direct",
            FLOOR,
            "the trivial handler on Hypercorn alone, without Restate",
            noop,
            group="floor",
            on_any_stack=True,
            floor=None,
            base="direct",
        ),
        Scenario(
            "floor-workflow",
            FLOOR,
            "a bare workflow of three durable steps",
            each(lambda run, i: f"/BenchTrip/{run}-{i}/Run", {"undo": False}),
            group="floor",
            on_any_stack=True,
            floor=None,
        ),
        Scenario(
            "floor-workflow-undo",
            FLOOR,
            "a bare workflow of three steps and three undo steps, then a terminal error",
            each(lambda run, i: f"/BenchTrip/{run}-{i}/Run", {"undo": True}),
            expect=frozenset({409}),
            group="floor",
            on_any_stack=True,
            floor=None,
        ),
    ]


def _patterns() -> list[Scenario]:
    return [
        Scenario(
            "rpc",
            "durablerpc",
            "ProductService/Reserve, a new product each time",
            each(lambda run, i: f"/ProductService/{run}-{i}/Reserve"),
            check=states("ProductService", "reserved", True),
            floor="floor-object",
            on_any_stack=True,
        ),
        Scenario(
            "rpc-one-object",
            "durablerpc",
            "ProductService/Reserve on one product: the calls queue up behind each other",
            each(lambda run, i: f"/ProductService/{run}-one/Reserve"),
            check=states("ProductService", "reserved", True, one=True),
            floor="floor-object",
            on_any_stack=True,
        ),
        Scenario(
            "queue-send",
            "queue",
            "AsyncTaskWorker/RunTask/send: accepted at once, the work runs after",
            each(lambda run, i: "/AsyncTaskWorker/RunTask/send", {"id": "bench", "description": "work"}),
            env={"QUEUE_WORK_SECONDS": "0"},
            expect=frozenset({200, 202}),
            check=lambda bench, run, n, load: bench.drained("AsyncTaskWorker", load),
        ),
        Scenario(
            "queue-attach",
            "queue",
            "AsyncTaskWorker/RunTask/send with the task id as idempotency key, then attach by that key",
            lambda run, n: [],
            env={"QUEUE_WORK_SECONDS": "0"},
            custom=queue_attach,
        ),
        Scenario(
            "webhook",
            "webhookcallbacks",
            "WebhookCallbackRouter/OnStripeEvent of a paid invoice, routed to PaymentTracker (Python client:"
            " every event has its own id)",
            lambda run, n: [
                Request("/WebhookCallbackRouter/OnStripeEvent", body(_paid(f"{run}-{i}")), JSON)
                for i in range(n)
            ],
            check=states("PaymentTracker", "paid", True),
            needs=("schedulingtasks",),
        ),
        Scenario(
            "upload",
            "syncasync",
            "DataUploadService/Run: an upload that finishes in time, the URL in the answer",
            each(lambda run, i: f"/DataUploadService/{run}-{i}/Run"),
            env={"SYNCASYNC_FAST_UPLOAD_SECONDS": "0", "SYNCASYNC_SLOW_SHARE": "0"},
            check=effects("storage", "upload"),
            floor="floor-workflow",
        ),
        Scenario(
            "saga",
            "sagas",
            "BookingWorkflow/Run that succeeds: flight, car, payment, two confirms",
            each(lambda run, i: f"/BookingWorkflow/{run}-{i}/Run", BOOKING),
            env=NO_SAGA_FAULTS,
            check=all_of(*(effects(api, op, keyed=False) for api, op in SAGA_DONE)),
            floor="floor-workflow",
        ),
        Scenario(
            "saga-compensate",
            "sagas",
            "BookingWorkflow/Run whose payment is declined: three compensations in reverse",
            each(lambda run, i: f"/BookingWorkflow/{run}-{i}/Run", BOOKING),
            env=DECLINE,
            expect=frozenset({422}),
            check=all_of(*(effects(api, op, keyed=False) for api, op in SAGA_UNDONE)),
            floor="floor-workflow-undo",
        ),
        Scenario(
            "actor",
            "statefulactors",
            "MachineOperator/SetUp with no transition time, a new machine each time",
            each(lambda run, i: f"/MachineOperator/{run}-{i}/SetUp"),
            env={"STATEFULACTORS_TRANSITION_SECONDS": "0", "STATEFULACTORS_FAILURE__MODE": "off"},
            check=states("MachineOperator", "status", "UP"),
            floor="floor-object",
        ),
        Scenario(
            "reminders",
            "schedulingtasks",
            "PaymentTracker/OnPaymentFailure: three reminders and an escalation, no interval",
            each(lambda run, i: f"/PaymentTracker/{run}-{i}/OnPaymentFailure", PAYMENT_FAILED),
            env={"SCHEDULINGTASKS_REMINDER_SECONDS": "0.001", "SCHEDULINGTASKS_EMAIL_SECONDS": "0"},
            check=effects("escalation", "escalate"),
            floor="floor-object",
        ),
        Scenario(
            "fanout",
            "parallelizework",
            "FanOutWorker/Run of 8 parts with no work time",
            each(
                lambda run, i: f"/FanOutWorker/Run?run={run}&i={i}",
                {"description": ",".join(f"p{n}" for n in range(8))},
            ),
            env={"PARALLELIZEWORK_WORK_SECONDS_MIN": "0", "PARALLELIZEWORK_WORK_SECONDS_MAX": "0"},
            share=0.5,
        ),
    ]


def _growth() -> list[Scenario]:
    return [
        Scenario(
            f"fanout-{parts}",
            "parallelizework",
            f"FanOutWorker/Run of {parts} parts that each work {WORK_SECONDS} s, one run at a time",
            lambda run, n: [],
            env=GROWTH_ENV,
            floor=None,
            custom=fanout(parts),  # type: ignore[arg-type]
        )
        for parts in (10, 100, 1000)
    ]


def _paced() -> list[Scenario]:
    return [
        Scenario(
            f"ratelimit-{rate}",
            "ratelimit",
            f"LimitedTask/RunTask sent at once for a limiter of {rate}/s, burst 1: the rate after the burst",
            lambda run, n: [],
            env={"RATELIMIT_WORK_SECONDS": "0"},
            expect=frozenset({200, 202}),
            floor=None,
            custom=limiter(rate),
        )
        for rate in (10, 100)
    ]


def _kafka() -> list[Scenario]:
    feeds = {
        "eventtransactions": ("kafka-posts", "social-media-posts -> UserFeed/ProcessPost", POSTS_ENV),
        "eventenrichment": (
            "kafka-packages",
            "package-location-updates -> PackageTracker/UpdateLocation",
            {},
        ),
    }
    return [
        Scenario(
            f"{name}-k{keys}",
            pattern,
            f"{what}: {RATE:g} records/s over {keys} key(s), produce to state",
            lambda run, n: [],
            env=env,
            floor=None,
            custom=kafka(pattern, keys),
        )
        for pattern, (name, what, env) in feeds.items()
        for keys in (1, 4, 16)
    ]


def _startup() -> list[Scenario]:
    what = "patterns up of the whole catalogue (Restate, Kafka, every service, registered): until ready"
    return [Scenario("stack-up", "stack", what, lambda run, n: [], floor=None, custom=stack_up)]


def _startup_and_cron() -> list[Scenario]:
    return [
        *_startup(),
        Scenario(
            "cron-jitter",
            "cron",
            f"a CronJob every second for {CRON_SECONDS} s: how late each run starts after its second",
            lambda run, n: [],
            env={"CRON_TASK_SECONDS": "0"},
            floor=None,
            custom=cron_jitter,
        ),
    ]


def _sweeps() -> list[Scenario]:
    rpc, fanout = (next(s for s in _patterns() if s.name == name) for name in ("rpc", "fanout"))
    return [
        *(
            Scenario(
                f"fanout-c{c}",
                fanout.pattern,
                f"{fanout.what}, {c} in flight",
                fanout.requests,
                env=fanout.env,
                group="sweep",
                concurrency=c,
                share=0.25 if c < 4 else 0.5,
            )
            for c in (1, 4, 16, 64)
        ),
        *(
            Scenario(
                f"rpc-c{c}",
                rpc.pattern,
                f"{rpc.what}, {c} in flight",
                rpc.requests,
                check=rpc.check,
                floor="floor-object",
                group="sweep",
                concurrency=c,
                share=0.5 if c < 4 else 1.0,
                on_any_stack=True,
            )
            for c in (1, 4, 16, 64)
        ),
    ]


SCENARIOS = {
    s.name: s
    for s in [*_floors(), *_patterns(), *_growth(), *_paced(), *_kafka(), *_startup_and_cron(), *_sweeps()]
}
