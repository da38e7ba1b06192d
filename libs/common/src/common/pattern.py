"""What a service member exports: its name, settings class, Restate services and client.

Each member publishes one ``Pattern`` under the entry-point group ``restate_patterns``; the
``serve`` and ``client`` commands (``common.cli``) find it there, and the local stack creates
the Kafka topics and subscriptions a pattern lists in ``subscriptions``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from common.events import Subscription
from common.serving import RestateService, build_asgi, run
from common.settings import ServiceSettings

S = TypeVar("S", bound=ServiceSettings)

ENTRY_POINT_GROUP = "restate_patterns"


@dataclass(frozen=True)
class Pattern(Generic[S]):
    name: str
    settings: type[S]
    services: Callable[[S], Sequence[RestateService]]
    client: Callable[[list[str] | None], int] | None = None
    subscriptions: Sequence[Subscription] = ()

    @property
    def port(self) -> int:
        """The port it serves on: its settings' documented default, or ``PORT`` when set."""
        return int(self.settings().port)

    def load_settings(self, **overrides: Any) -> S:
        return self.settings(**overrides)

    def asgi(self, settings: S) -> Any:
        return build_asgi(self.name, self.services(settings), settings)

    def serve(self, settings: S | None = None) -> None:
        settings = settings or self.load_settings()
        run(self.name, self.services(settings), settings)
