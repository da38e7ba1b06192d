"""What a service member exports: its name, settings class, Restate services and client.

Each member publishes one ``Pattern`` under the entry-point group ``restate_patterns``; the
``serve`` and ``client`` commands (``common.cli``) find it there, and the local stack creates
the Kafka topics and subscriptions a pattern lists in ``subscriptions``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import restate

from common.events import Subscription
from common.settings import ServiceSettings

S = TypeVar("S", bound=ServiceSettings)
RestateService = restate.Service | restate.VirtualObject | restate.Workflow

ENTRY_POINT_GROUP = "restate_patterns"


@dataclass(frozen=True)
class Pattern(Generic[S]):
    name: str
    settings: type[S]
    services: Callable[[S], Sequence[RestateService]]
    client: Callable[[list[str] | None], int] | None = None
    subscriptions: Sequence[Subscription] = ()

    def load_settings(self, **overrides: Any) -> S:
        return self.settings(**overrides)

    def asgi(self, settings: S) -> Any:
        from common.serving import build_asgi

        return build_asgi(self.name, self.services(settings), settings)

    def serve(self, settings: S | None = None) -> None:
        from common.serving import run

        run(self, settings or self.load_settings())
