"""The local stack without Java or Maven: the Kafka patterns are left out, and it says why."""

from __future__ import annotations

import argparse

import pytest

from toolkit import stack
from toolkit.infra import kafka


def test_without_kafka_the_stack_leaves_out_the_kafka_patterns(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(kafka, "unavailable_reason", lambda: "Maven (mvn) not found on PATH")
    local = stack.Stack(argparse.Namespace(only="eventtransactions", data_dir=None))
    local.start_kafka()
    out = capsys.readouterr().out
    assert "Kafka is unavailable (Maven (mvn) not found on PATH)" in out
    assert "not starting eventtransactions." in out
    assert local.chosen() == []
    assert local.kafka is None and local.subscriptions == []
