"""Settings: shared fields by fixed names, the rest by the service's prefix."""

from __future__ import annotations

import pytest

from common.faults import FailurePolicy
from common.settings import ServiceSettings, port_field, service_config


class DemoSettings(ServiceSettings):
    model_config = service_config("DEMO_")
    port: int = port_field(9999)
    delay: float = 1.5


def test_settings_read_shared_and_prefixed_env(monkeypatch: pytest.MonkeyPatch) -> None:
    assert DemoSettings().port == 9999
    monkeypatch.setenv("PORT", "1234")
    monkeypatch.setenv("DEMO_DELAY", "0.2")
    monkeypatch.setenv("DEMO_FAILURE__MODE", "first")
    monkeypatch.setenv("DEMO_FAILURE__FIRST", "3")
    monkeypatch.setenv("RESTATE_IDENTITY_KEYS", "publickeyv1_a, publickeyv1_b")
    settings = DemoSettings()
    assert (settings.port, settings.delay) == (1234, 0.2)
    assert settings.failure == FailurePolicy(mode="first", first=3)
    assert settings.identity_keys == ["publickeyv1_a", "publickeyv1_b"]
