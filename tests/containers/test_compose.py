"""``docker-compose.yml``, checked statically: the Compose specification's schema (vendored under
``containers/compose-spec``), then what this project's compose file must wire up."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from toolkit.infra import jaeger, serverconfig
from toolkit.infra.standins import load_recipes

pytestmark = pytest.mark.containers

ROOT = Path(__file__).resolve().parents[2]
MEMBERS = sorted(p.parent.name for p in ROOT.glob("services/*/Dockerfile"))
# The port table of the catalogue: the README's, which repeats the pattern contract's.
CONTRACT = dict(
    re.findall(r"^\| \[(\w+)\]\(services/\w+\) \| (\d+) \|", (ROOT / "README.md").read_text(), re.MULTILINE)
)
# The contract itself, where it sits beside the checkout (as in this project's CI).
PATTERNS = ROOT.parent / "shared" / "PATTERNS.md"
# The Kafka subscriptions of PATTERNS.md, by the member that serves them: (topic, sink).
SUBSCRIPTIONS = {
    "eventtransactions": ("kafka://my-cluster/social-media-posts", "service://UserFeed/ProcessPost"),
    "eventenrichment": (
        "kafka://my-cluster/package-location-updates",
        "service://PackageTracker/UpdateLocation",
    ),
}
KAFKA_MEMBERS = sorted(set(SUBSCRIPTIONS) & set(MEMBERS))


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "docker-compose.yml").read_text()))


def env(service: dict[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in (service.get("environment") or {}).items()}


def healthy(condition: dict[str, Any] | None) -> bool:
    return (condition or {}).get("condition") == "service_healthy"


def test_compose_file_follows_the_compose_specification(compose: dict[str, Any]) -> None:
    schema = json.loads((ROOT / "containers/compose-spec/compose-spec.json").read_text())
    validator = jsonschema.Draft201909Validator(schema)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(compose)]
    assert errors == []
    broken = {**compose, "services": {**compose["services"], "x": {"image": "a", "portz": ["1"]}}}
    assert not validator.is_valid(broken), "the schema must catch a misspelt key"


def test_every_member_is_built_from_the_repo_root_with_its_dockerfile(compose: dict[str, Any]) -> None:
    for member in MEMBERS:
        service = compose["services"].get(member)
        assert service is not None, f"{member} is not in docker-compose.yml"
        assert service["build"] == {"context": ".", "dockerfile": f"services/{member}/Dockerfile"}
        assert service["image"] == f"restate-patterns/{member}:latest"


def test_ports_match_the_contract_and_the_dockerfiles(compose: dict[str, Any]) -> None:
    from common.cli import installed_patterns

    assert sorted(CONTRACT) == MEMBERS, "the README's catalogue table lists every member once"
    if PATTERNS.exists():
        contract = dict(re.findall(r"^\| (\w+) \| (\d+) \|", PATTERNS.read_text(), re.MULTILINE))
        assert {m: contract.get(m) for m in MEMBERS} == CONTRACT
    patterns = installed_patterns()
    for member in MEMBERS:
        dockerfile = (ROOT / "services" / member / "Dockerfile").read_text()
        assert env(compose["services"][member])["PORT"] == CONTRACT[member], member
        assert f"EXPOSE {CONTRACT[member]}\n" in dockerfile, member
        assert str(patterns[member].load().port) == CONTRACT[member], f"{member}'s port"


def test_restate_and_kafka_are_pinned_healthchecked_with_named_volumes(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in ["restate"] + (["broker"] if KAFKA_MEMBERS else []):
        service = services[name]
        image = service["image"]
        if "build" in service:  # built on a pinned public image
            dockerfile = (ROOT / service["build"]["context"] / "Dockerfile").read_text()
            image = re.findall(r"^FROM (\S+)", dockerfile, re.MULTILINE)[-1]
        assert re.search(r":\d+\.\d+\.\d+$", image), f"{name} image is not pinned"
        assert service["healthcheck"]["test"], f"{name} has no healthcheck"
        sources = [volume.split(":")[0] for volume in service.get("volumes", [])]
        assert any(source in compose["volumes"] for source in sources), f"{name} keeps no named volume"
    # Restate's data belongs to a named node: the default name (the hostname) changes per container.
    assert env(services["restate"]).get("RESTATE_NODE_NAME"), "a new restate container would refuse its data"
    for name, service in services.items():
        for dependency in ("restate", "broker", "jaeger"):
            if dependency in (service.get("depends_on") or {}):
                assert healthy(service["depends_on"][dependency]), (
                    f"{name} must wait for a healthy {dependency}"
                )


def test_the_broker_is_the_go_catalogues_broker_container(compose: dict[str, Any]) -> None:
    """``docker exec -it broker kafka-console-producer --bootstrap-server broker:29092 ...`` of
    Restate's Go catalogue: a container named broker, that listener, and the tools on its path
    (its image links them into /usr/local/bin)."""
    broker = compose["services"]["broker"]
    assert broker["container_name"] == "broker"
    assert "PLAINTEXT://broker:29092" in env(broker)["KAFKA_ADVERTISED_LISTENERS"].split(",")
    assert broker["build"] == {"context": "containers/broker"}
    dockerfile = (ROOT / "containers/broker/Dockerfile").read_text()
    assert 'ln -s "$tool" "/usr/local/bin/$(basename "$tool" .sh)"' in dockerfile


def test_the_cluster_override_follows_the_specification_and_names_what_it_changes(
    compose: dict[str, Any],
) -> None:
    override = yaml.safe_load((ROOT / "docker-compose.cluster.yml").read_text())
    schema = json.loads((ROOT / "containers/compose-spec/compose-spec.json").read_text())
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in jsonschema.Draft201909Validator(schema).iter_errors(override)
    ]
    assert errors == []
    services = override["services"]
    nodes = ["restate", "restate-2", "restate-3"]
    addresses = {env(services[n])["RESTATE_ADVERTISED_ADDRESS"] for n in nodes}
    assert addresses == {f"http://{n}:5122" for n in nodes}
    assert [env(services[n])["RESTATE_AUTO_PROVISION"] for n in nodes] == ["true", "false", "false"]
    for node in nodes:
        variables = env(services[node])
        assert variables["RESTATE_DEFAULT_REPLICATION"] == "2"
        assert json.loads(variables["RESTATE_METADATA_CLIENT__ADDRESSES"]) == [
            f"http://{n}:5122" for n in nodes
        ]
    brokers = ["broker", "broker-2", "broker-3"]
    assert [env(services[b])["KAFKA_NODE_ID"] for b in brokers] == ["1", "2", "3"]
    for broker in brokers:
        assert env(services[broker])["KAFKA_MIN_INSYNC_REPLICAS"] == "2"
    # Services it does not add are the base file's, so each keeps its image, keys and port.
    added = {"restate-2", "restate-3", "broker-2", "broker-3"}
    assert set(services) - added <= set(compose["services"])
    register = env(services["register"])["KNOWN_BY"].split(",")
    assert register == ["http://restate-2:9070", "http://restate-3:9070"]


def test_every_restate_node_and_service_sends_its_traces_to_jaeger(compose: dict[str, Any]) -> None:
    """Jaeger as its public image starts (the stand-in of the same name is built from the Go
    module of that release), its UI on loopback; Restate exports over OTLP/gRPC, the services over
    OTLP/HTTP, every node of the cluster override too."""
    services = compose["services"]
    tracer = services["jaeger"]
    recipe = load_recipes(ROOT)["jaeger"]
    assert tracer["image"] == recipe.image == "docker.io/jaegertracing/jaeger:2.12.0"
    assert recipe.spec["jaeger"]["module_version"] == jaeger.JAEGER_VERSION
    # No settings of its own: the image's JAEGER_LISTEN_HOST=0.0.0.0 makes OTLP reachable.
    assert "environment" not in tracer and "command" not in tracer and "entrypoint" not in tracer
    assert tracer["ports"] == ["127.0.0.1:16686:16686"]
    assert "http://127.0.0.1:13133/status" in tracer["healthcheck"]["test"]
    assert env(services["restate"])["RESTATE_TRACING_ENDPOINT"] == "http://jaeger:4317"
    assert healthy(services["restate"]["depends_on"]["jaeger"])
    for member in MEMBERS:
        assert env(services[member])["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://jaeger:4318", member
    override = yaml.safe_load((ROOT / "docker-compose.cluster.yml").read_text())["services"]
    nodes = [name for name, s in override.items() if s.get("image", "").startswith("docker.io/restatedev/")]
    assert nodes == ["restate-2", "restate-3"]
    for node in ["restate", *nodes]:
        assert env(override[node])["RESTATE_TRACING_ENDPOINT"] == "http://jaeger:4317", node
    assert all(healthy(override[node]["depends_on"]["jaeger"]) for node in nodes)


def test_the_sagas_payment_faults_pass_through_from_the_shell(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unset, the demo's random declines; set where compose runs, the README's deterministic ones."""
    from sagas.settings import Settings

    variables = compose["services"]["sagas"]["environment"]
    passed = sorted(name for name, value in variables.items() if value is None)
    assert passed == [
        "SAGAS_PAYMENT__DECLINE__MATCH",
        "SAGAS_PAYMENT__DECLINE__MODE",
        "SAGAS_PAYMENT__FAILURE__MODE",
    ]
    values = {"MATCH": '["4000000000000002"]', "MODE": "match"}
    for name in passed:
        monkeypatch.setenv(name, "off" if "FAILURE" in name else values[name.rsplit("__", 1)[1]])
    payment = Settings().payment
    assert (payment.decline.mode, payment.decline.match, payment.failure.mode) == (
        "match",
        ["4000000000000002"],
        "off",
    )


def test_one_job_registers_every_deployment_and_subscription(compose: dict[str, Any]) -> None:
    jobs = [s for s in compose["services"].values() if "toolkit.register" in s.get("command", [])]
    assert len(jobs) == 1, "one registration job"
    job = jobs[0]
    variables = env(job)
    deployments = {uri.strip() for uri in variables["DEPLOYMENTS"].split(",")}
    wanted = {f"http://{m}:{env(compose['services'][m])['PORT']}" for m in MEMBERS}
    assert deployments == wanted
    pairs = [pair.strip().split("=") for pair in variables["SUBSCRIPTIONS"].split(",") if pair.strip()]
    assert {(source, sink) for source, sink in pairs} == {SUBSCRIPTIONS[m] for m in KAFKA_MEMBERS}
    assert healthy(job["depends_on"]["restate"])
    assert all(healthy(job["depends_on"][m]) for m in MEMBERS)


def test_request_signing_keys_are_wired(compose: dict[str, Any]) -> None:
    services = compose["services"]
    keys_job = next(s for s in services.values() if "toolkit.infra.keys" in s.get("command", []))
    volume, target = keys_job["volumes"][0].split(":")[:2]
    pem = env(services["restate"])["RESTATE_WORKER__INVOKER__REQUEST_IDENTITY_PRIVATE_KEY_PEM_FILE"]
    assert pem.startswith(target + "/")
    assert any(v.startswith(f"{volume}:{target}") for v in services["restate"]["volumes"])
    for member in MEMBERS:
        service = services[member]
        assert env(service)["RESTATE_IDENTITY_KEYS_FILE"].startswith(target + "/"), member
        assert f"{volume}:{target}:ro" in service["volumes"], member
        assert service["depends_on"]["keys"]["condition"] == "service_completed_successfully"


def test_only_the_ingress_is_published_beyond_localhost(compose: dict[str, Any]) -> None:
    published = [(name, str(p)) for name, s in compose["services"].items() for p in s.get("ports", [])]
    assert ("restate", "127.0.0.1:9070:9070") in published
    open_ports = [(name, port) for name, port in published if not port.startswith("127.0.0.1:")]
    assert open_ports == [("restate", "8080:8080")]


def test_compose_runs_restate_with_the_local_stacks_config_and_its_own_broker(
    compose: dict[str, Any],
) -> None:
    restate = compose["services"]["restate"]
    assert "./restate.toml:/etc/restate/restate.toml:ro" in restate["volumes"]
    assert env(restate)["RESTATE_CONFIG"] == "/etc/restate/restate.toml"
    overrides = {k: v for k, v in env(restate).items() if k.startswith("RESTATE_INGRESS__")}
    assert overrides == serverconfig.COMPOSE
    local = tomllib.loads((ROOT / "restate.toml").read_text())
    assert local["ingress"]["kafka-clusters"][0]["brokers"] == ["PLAINTEXT://127.0.0.1:19092"]
    assert local["default-retry-policy"]["max-interval"] == "10s"
