"""The compose registration job: every deployment registered with force, retried until it answers,
then every subscription created."""

from __future__ import annotations

from typing import Any, ClassVar

import httpx
import pytest

from common.ingress import RestateHttpError
from toolkit import register


class FakeAdmin:
    """Refuses the first registration of each deployment, as a service still starting would."""

    calls: ClassVar[list[tuple[str, Any]]] = []

    def __init__(self, url: str) -> None:
        self.url = url
        self.refused: set[str] = set()

    def register(self, uri: str, *, force: bool) -> list[str]:
        FakeAdmin.calls.append(("register", (uri, force)))
        if uri not in self.refused:
            self.refused.add(uri)
            raise httpx.ConnectError("not up yet")
        return [uri.rsplit("/", 1)[-1]]

    def subscribe(self, source: str, sink: str, options: dict[str, str]) -> None:
        FakeAdmin.calls.append(("subscribe", (source, sink, options)))

    def services(self) -> list[str]:
        """Another node learns the services a few questions after they were registered."""
        FakeAdmin.calls.append(("services", self.url))
        asked = sum(1 for kind, url in FakeAdmin.calls if (kind, url) == ("services", self.url))
        return ["a:1", "b:2"] if asked >= 3 else ["a:1"]

    def query(self, sql: str) -> list[dict[str, Any]]:
        """A node that has just joined fails its first query over every partition."""
        FakeAdmin.calls.append(("query", self.url))
        if FakeAdmin.calls.count(("query", self.url)) == 1:
            raise RestateHttpError(500, "handshake failed: dns error")
        return [{"n": 0}]

    def close(self) -> None:
        pass


def test_every_deployment_is_registered_with_force_then_subscribed(monkeypatch: pytest.MonkeyPatch) -> None:
    FakeAdmin.calls = []
    monkeypatch.setattr(register, "Admin", FakeAdmin)
    monkeypatch.setattr(register, "wait_until", _fast(register.wait_until))
    monkeypatch.setenv("DEPLOYMENTS", "http://a:1, http://b:2,")
    monkeypatch.setenv("SUBSCRIPTIONS", "kafka://c/t=service://S/H")
    assert register.main() == 0
    registered = [args for kind, args in FakeAdmin.calls if kind == "register"]
    assert registered == [("http://a:1", True)] * 2 + [("http://b:2", True)] * 2
    assert FakeAdmin.calls[-1] == (
        "subscribe",
        ("kafka://c/t", "service://S/H", {"auto.offset.reset": "earliest"}),
    )


def test_on_a_cluster_it_ends_once_every_other_node_knows_every_service_and_answers_queries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    FakeAdmin.calls = []
    monkeypatch.setattr(register, "Admin", FakeAdmin)
    monkeypatch.setattr(register, "wait_until", _fast(register.wait_until))
    monkeypatch.setenv("DEPLOYMENTS", "http://a:1,http://b:2")
    monkeypatch.setenv("SUBSCRIPTIONS", "")
    monkeypatch.setenv("KNOWN_BY", "http://n2:9070, http://n3:9070")
    monkeypatch.setenv("REGISTER_TIMEOUT", "5")
    assert register.main() == 0
    asked = [url for kind, url in FakeAdmin.calls if kind == "services"]
    assert asked == ["http://n2:9070"] * 4 + ["http://n3:9070"] * 4
    queried = [url for kind, url in FakeAdmin.calls if kind == "query"]
    assert queried == ["http://n2:9070"] * 2 + ["http://n3:9070"] * 2


def test_a_subscription_without_a_sink_is_refused() -> None:
    with pytest.raises(ValueError, match="not source=sink"):
        register.parse_subscriptions("kafka://c/t")


def _fast(wait_until: Any) -> Any:
    def fast(*args: Any, **kwargs: Any) -> Any:
        return wait_until(*args, **{**kwargs, "interval": 0})

    return fast
