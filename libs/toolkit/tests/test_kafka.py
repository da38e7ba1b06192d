"""Pure pieces of the Kafka tooling: producer lines, broker discovery, why it cannot run."""

from __future__ import annotations

from pathlib import Path

import pytest

from toolkit.infra import kafka
from toolkit.producer import parse_line


def test_producer_lines_split_at_the_first_colon() -> None:
    assert parse_line('user1:{"content": "a: b"}') == ("user1", '{"content": "a: b"}')
    assert parse_line(" user1 : not json ") == ("user1", "not json")
    for bad in ("no colon here", ':{"a": 1}'):
        with pytest.raises(ValueError, match="not a key:value line"):
            parse_line(bad)


def test_the_broker_port_comes_from_the_server_config(tmp_path: Path) -> None:
    config = tmp_path / "restate.toml"
    config.write_text(
        '[[ingress.kafka-clusters]]\nname = "my-cluster"\nbrokers = ["PLAINTEXT://127.0.0.1:29999"]\n'
    )
    assert kafka.broker_port(config, "my-cluster") == 29999
    assert kafka.broker_port(config, "other") == 19092
    assert kafka.broker_port(tmp_path / "missing.toml", "my-cluster") == 19092


def test_without_java_or_maven_kafka_is_unavailable_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kafka.shutil, "which", lambda name: None)
    assert kafka.unavailable_reason() == "Java 17+ (java) and Maven (mvn) not found on PATH"
    monkeypatch.setattr(kafka.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(kafka, "java_version", lambda java: 11)
    assert kafka.unavailable_reason() == "Kafka 4.1.1 needs Java 17+, found 11 (/usr/bin/java)"
    monkeypatch.setattr(kafka, "java_version", lambda java: 17)
    assert kafka.unavailable_reason() is None


def test_ensure_kafka_says_why_it_cannot_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATTERNS_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(kafka, "unavailable_reason", lambda: "Maven (mvn) not found on PATH")
    with pytest.raises(RuntimeError, match=r"cannot install Kafka 4\.1\.1: Maven"):
        kafka.ensure_kafka()
