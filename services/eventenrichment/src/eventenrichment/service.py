"""Event enrichment and joins: a digital twin per package, fed by HTTP and by Kafka.

``PackageTracker`` is a virtual object keyed by package id. ``RegisterPackage`` (HTTP) stores
the package's details; ``UpdateLocation`` is subscribed to the topic ``package-location-updates``
(record key = package id) and joins each update with that state, appending it in arrival order.
An update for a package nobody registered fails terminally (``package not found``) and the next
records go on. ``GetPackageInfo`` is a shared handler: it reads the state while updates queue
up or run, without waiting for them.

    HTTP  --RegisterPackage(info)-------------> PackageTracker/<id>  state "package-info"
    Kafka --(id, LocationUpdate)--UpdateLocation--^   append, or 404 "package not found"
    HTTP  --GetPackageInfo (shared, never queued behind updates)--^

A record that is not a valid update goes to ``package-location-updates.dlq`` (``common.events``).
"""

from __future__ import annotations

from collections import Counter

import restate
from restate.exceptions import TerminalError

from common.events import DeadLetters, Subscription, event_handler
from common.faults import TransientFailure
from common.handlers import handler
from eventenrichment.models import LocationUpdate, PackageInfo
from eventenrichment.settings import Settings

LOCATION_UPDATES = Subscription("package-location-updates", "PackageTracker", "UpdateLocation")
STATE = "package-info"

log = restate.getLogger(__name__)


def create_services(settings: Settings) -> list[restate.VirtualObject]:
    dead_letters = DeadLetters(LOCATION_UPDATES, settings.kafka_bootstrap_servers)
    attempts: Counter[str] = Counter()  # per invocation id; only for the simulated failures
    tracker = restate.VirtualObject("PackageTracker")

    @handler(tracker.handler, name="RegisterPackage")
    async def register_package(ctx: restate.ObjectContext, info: PackageInfo) -> None:
        ctx.set(STATE, info)
        log.info("Registered package %s for %s", ctx.key(), info.final_destination)

    @event_handler(tracker.handler, name="UpdateLocation", dead_letters=dead_letters)
    async def update_location(ctx: restate.ObjectContext, update: LocationUpdate) -> None:
        info = await ctx.get(STATE, type_hint=PackageInfo)
        if info is None:
            log.warning("Update for unknown package %s at %s: package not found", ctx.key(), update.location)
            raise TerminalError("package not found", status_code=404)
        invocation = ctx.request().id
        attempts[invocation] += 1
        if settings.failure.fails(key=ctx.key(), attempt=attempts[invocation], subject=update.location):
            log.warning("👻 SIMULATED: update of %s at %s failed", ctx.key(), update.location)
            raise TransientFailure(f"👻 simulated failure of the update at {update.location}")
        del attempts[invocation]
        info.locations.append(update)
        ctx.set(STATE, info)
        log.info("Package %s is at %s (%s)", ctx.key(), update.location, update.timestamp)

    @handler(tracker.handler, name="GetPackageInfo", kind="shared")
    async def get_package_info(ctx: restate.ObjectSharedContext) -> PackageInfo:
        info = await ctx.get(STATE, type_hint=PackageInfo)
        if info is None:
            raise TerminalError("package not found", status_code=404)
        return info

    return [tracker]
