"""Observability: off by default, each part behind its own toggle, wired to the environment."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from parity.api.models import EnvironmentSpec
from parity.render import build_children

ENV, NS, UID = "dev", "team-a", "uid-1"
PARTS = {
    "prometheus": "prometheus",
    "grafana": "grafana",
    "jaeger": "jaeger",
    "otelCollector": "otel-collector",
    "exporters": "postgres-exporter",
}


def observability(raw: dict | None = None, redis: dict | None = None) -> dict[tuple[str, str], dict]:
    spec = EnvironmentSpec.model_validate({"observability": raw or {}, "redis": redis or {}})
    # The section's NetworkPolicy is tested in test_render_network.py.
    return {(o["kind"], o["metadata"]["name"]): o for o in build_children(ENV, NS, UID, spec)
            if o["metadata"]["labels"]["app.kubernetes.io/component"] == "observability" and o["kind"] != "NetworkPolicy"}


def apps(objs: dict) -> set[str]:
    return {o["metadata"]["labels"]["app.kubernetes.io/name"] for o in objs.values()}


def prometheus_config(raw: dict | None = None, redis: dict | None = None) -> dict:
    cm = observability({"enabled": True, **(raw or {})}, redis)[("ConfigMap", "dev-prometheus")]
    return yaml.safe_load(cm["data"]["prometheus.yml"])


def jobs(config: dict) -> dict[str, dict]:
    return {job["job_name"]: job for job in config["scrape_configs"]}


def test_disabled_by_default_renders_nothing_even_with_parts_switched_on():
    assert observability() == {}
    assert observability({"enabled": False, "prometheus": {"enabled": True}, "grafana": {"enabled": True}}) == {}


def test_enabled_renders_every_part():
    assert apps(observability({"enabled": True})) == {
        "prometheus", "grafana", "jaeger", "otel-collector", "postgres-exporter", "redis-exporter"}


@pytest.mark.parametrize("toggle", sorted(PARTS))
def test_each_toggle_removes_only_its_part(toggle):
    objs = observability({"enabled": True, toggle: {"enabled": False}})
    removed = {"postgres-exporter", "redis-exporter"} if toggle == "exporters" else {PARTS[toggle]}
    everything = {"prometheus", "grafana", "jaeger", "otel-collector", "postgres-exporter", "redis-exporter"}
    assert apps(objs) == everything - removed


@pytest.mark.parametrize("toggle", sorted(PARTS))
def test_each_toggle_alone(toggle):
    raw = {"enabled": True, **{name: {"enabled": name == toggle} for name in PARTS}}
    expected = {"postgres-exporter", "redis-exporter"} if toggle == "exporters" else {PARTS[toggle]}
    assert apps(observability(raw)) == expected


def test_prometheus_scrapes_every_component_and_the_operator():
    config = prometheus_config()
    by_job = jobs(config)
    assert set(by_job) == {"etcd", "patroni", "postgres-exporter", "redis", "sentinel", "redis-exporter",
                           "otel-collector", "parity-operator", "prometheus"}
    assert by_job["etcd"]["static_configs"][0]["targets"] == [
        f"dev-etcd-{i}.dev-etcd-peer.team-a.svc:2379" for i in range(3)]
    assert by_job["patroni"]["static_configs"][0]["targets"] == [
        f"dev-postgres-{i}.dev-postgres.team-a.svc:8008" for i in range(3)]
    assert by_job["parity-operator"]["static_configs"][0]["targets"] == [
        "parity-operator-metrics.parity-system.svc:8080"]
    assert by_job["otel-collector"]["static_configs"][0]["targets"] == ["dev-otel-collector.team-a.svc:8889"]
    assert by_job["postgres-exporter"]["static_configs"][0]["targets"] == ["dev-postgres-exporter.team-a.svc:9187"]
    redis_job = by_job["redis"]
    assert redis_job["metrics_path"] == "/scrape"
    assert redis_job["static_configs"][0]["targets"] == [
        f"redis://dev-redis-{i}.dev-redis-headless.team-a.svc:6379" for i in range(3)]
    assert {"replacement": "dev-redis-exporter.team-a.svc:9121", "target_label": "__address__"} in \
        redis_job["relabel_configs"]


def kept_by(relabel: dict, labels: dict[str, str]) -> bool:
    """Prometheus's `keep` action: the joined source labels must match the whole regex."""
    joined = relabel["separator"].join(labels.get(name, "") for name in relabel["source_labels"])
    return re.fullmatch(relabel["regex"], joined) is not None


def test_prometheus_keeps_only_its_own_environment_of_the_operator_series():
    [relabel] = jobs(prometheus_config())["parity-operator"]["metric_relabel_configs"]
    assert relabel["action"] == "keep"
    assert kept_by(relabel, {"namespace": "team-a", "environment": "dev", "severity": "critical"})
    assert kept_by(relabel, {"trigger": "environment"})  # reconcile latency names no environment
    assert kept_by(relabel, {})  # process metrics
    assert not kept_by(relabel, {"namespace": "team-b", "environment": "dev"})
    assert not kept_by(relabel, {"namespace": "team-a", "environment": "prod"})
    assert not kept_by(relabel, {"namespace": "team-a", "environment": "dev-2"})
    assert not kept_by(relabel, {"namespace": "team-a/dev", "environment": ""})


def test_prometheus_jobs_follow_the_parts_and_modes():
    by_job = jobs(prometheus_config({"exporters": {"enabled": False}, "otelCollector": {"enabled": False}},
                                    redis={"mode": "standalone"}))
    assert set(by_job) == {"etcd", "patroni", "parity-operator", "prometheus"}
    standalone = jobs(prometheus_config(redis={"mode": "standalone"}))
    assert "sentinel" not in standalone
    assert standalone["redis"]["static_configs"][0]["targets"] == [
        "redis://dev-redis-0.dev-redis-headless.team-a.svc:6379"]


def test_prometheus_deployment_and_service():
    objs = observability({"enabled": True})
    service = objs[("Service", "dev-prometheus")]["spec"]
    assert [(p["name"], p["port"]) for p in service["ports"]] == [("http", 9090)]
    deployment = objs[("Deployment", "dev-prometheus")]
    assert deployment["spec"]["replicas"] == 1
    assert "--config.file=/etc/prometheus/prometheus.yml" in \
        deployment["spec"]["template"]["spec"]["containers"][0]["args"]


def test_grafana_has_datasources_provider_and_a_dashboard():
    objs = observability({"enabled": True})
    provisioning = objs[("ConfigMap", "dev-grafana-provisioning")]["data"]
    sources = yaml.safe_load(provisioning["datasources.yaml"])["datasources"]
    assert {(s["type"], s["url"]) for s in sources} == {
        ("prometheus", "http://dev-prometheus.team-a.svc:9090"), ("jaeger", "http://dev-jaeger.team-a.svc:16686")}
    provider = yaml.safe_load(provisioning["dashboards.yaml"])["providers"][0]
    assert provider["options"]["path"] == "/etc/parity/dashboards"
    boards = objs[("ConfigMap", "dev-grafana-dashboards")]["data"]
    assert sorted(boards) == ["etcd.json", "parity.json", "postgres.json", "redis.json"]
    assert json.loads(boards["postgres.json"])["title"] == "PostgreSQL / Patroni (dev)"
    assert [(p["name"], p["port"]) for p in objs[("Service", "dev-grafana")]["spec"]["ports"]] == [("http", 3000)]
    mounts = {m["mountPath"] for m in objs[("Deployment", "dev-grafana")]["spec"]["template"]["spec"]["containers"][0][
        "volumeMounts"]}
    assert {"/etc/grafana/provisioning/datasources", "/etc/grafana/provisioning/dashboards",
            "/etc/parity/dashboards"} <= mounts


def test_grafana_only_lists_datasources_that_exist():
    objs = observability({"enabled": True, "jaeger": {"enabled": False}, "prometheus": {"enabled": False}})
    sources = yaml.safe_load(objs[("ConfigMap", "dev-grafana-provisioning")]["data"]["datasources.yaml"])
    assert sources["datasources"] == []


def test_jaeger_ports():
    service = observability({"enabled": True})[("Service", "dev-jaeger")]["spec"]
    assert {(p["name"], p["port"]) for p in service["ports"]} == {
        ("ui", 16686), ("otlp-grpc", 4317), ("otlp-http", 4318)}


def test_otel_collector_receives_otlp_and_exports_to_jaeger_and_prometheus():
    objs = observability({"enabled": True})
    config = yaml.safe_load(objs[("ConfigMap", "dev-otel-collector")]["data"]["config.yaml"])
    protocols = config["receivers"]["otlp"]["protocols"]
    assert protocols == {"grpc": {"endpoint": "0.0.0.0:4317"}, "http": {"endpoint": "0.0.0.0:4318"}}
    assert config["exporters"]["otlp/jaeger"]["endpoint"] == "dev-jaeger.team-a.svc:4317"
    assert config["exporters"]["prometheus"]["endpoint"] == "0.0.0.0:8889"
    assert config["service"]["pipelines"]["traces"]["exporters"] == ["otlp/jaeger"]
    assert config["service"]["pipelines"]["metrics"]["exporters"] == ["prometheus"]
    ports = {(p["name"], p["port"]) for p in objs[("Service", "dev-otel-collector")]["spec"]["ports"]}
    assert ports == {("otlp-grpc", 4317), ("otlp-http", 4318), ("metrics", 8889)}


def test_otel_collector_without_jaeger_still_accepts_traces():
    objs = observability({"enabled": True, "jaeger": {"enabled": False}})
    config = yaml.safe_load(objs[("ConfigMap", "dev-otel-collector")]["data"]["config.yaml"])
    assert "otlp/jaeger" not in config["exporters"]
    assert config["service"]["pipelines"]["traces"]["exporters"] == ["debug"]


def test_exporters_take_credentials_from_the_secret():
    objs = observability({"enabled": True})
    env = {e["name"]: e for e in objs[("Deployment", "dev-postgres-exporter")]["spec"]["template"]["spec"][
        "containers"][0]["env"]}
    # The pg_monitor role post-init.sh creates, not the superuser.
    assert env["DATA_SOURCE_PASS"] == {"name": "DATA_SOURCE_PASS", "valueFrom": {"secretKeyRef": {
        "name": "dev-postgres-credentials", "key": "monitor-password"}}}
    assert env["DATA_SOURCE_USER"]["valueFrom"]["secretKeyRef"]["key"] == "monitor-username"
    assert env["DATA_SOURCE_URI"]["value"].startswith("dev-postgres-primary.team-a.svc:5432/")
    redis_env = objs[("Deployment", "dev-redis-exporter")]["spec"]["template"]["spec"]["containers"][0]["env"]
    assert redis_env == [{"name": "REDIS_ADDR", "value": "redis://dev-redis.team-a.svc:6379"},
                         {"name": "REDIS_PASSWORD", "valueFrom": {"secretKeyRef": {
                             "name": "dev-postgres-credentials", "key": "redis-password"}}}]


def test_pinned_images_and_overrides():
    objs = observability({"enabled": True, "prometheus": {"image": "mirror.local/prometheus:v2"}})

    def image(name):
        return objs[("Deployment", name)]["spec"]["template"]["spec"]["containers"][0]["image"]

    assert image("dev-prometheus") == "mirror.local/prometheus:v2"
    assert image("dev-grafana") == "grafana/grafana:11.4.0"
    for name in ("dev-grafana", "dev-jaeger", "dev-otel-collector", "dev-postgres-exporter", "dev-redis-exporter"):
        assert ":" in image(name) and not image(name).endswith(":latest"), name


def test_config_hash_changes_when_scrape_targets_change():
    def digest(raw):
        objs = observability({"enabled": True}, raw)
        return objs[("Deployment", "dev-prometheus")]["spec"]["template"]["metadata"]["annotations"][
            "parity.dev/config-hash"]

    assert digest({"replicas": 3}) == digest({"replicas": 3})
    assert digest({"replicas": 3}) != digest({"replicas": 4})


def test_grafana_admin_password_from_the_secret_and_no_anonymous_viewer_unless_asked():
    env = {e["name"]: e for e in observability({"enabled": True})[("Deployment", "dev-grafana")]["spec"]["template"][
        "spec"]["containers"][0]["env"]}
    assert env["GF_SECURITY_ADMIN_USER"]["value"] == "admin"
    assert env["GF_SECURITY_ADMIN_PASSWORD"]["valueFrom"] == {"secretKeyRef": {
        "name": "dev-postgres-credentials", "key": "grafana-admin-password"}}
    assert env["GF_AUTH_ANONYMOUS_ENABLED"]["value"] == "false" and "GF_AUTH_ANONYMOUS_ORG_ROLE" not in env
    asked = {e["name"]: e for e in observability({"enabled": True, "grafana": {"anonymousViewer": True}})[
        ("Deployment", "dev-grafana")]["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert asked["GF_AUTH_ANONYMOUS_ENABLED"]["value"] == "true"
    assert asked["GF_AUTH_ANONYMOUS_ORG_ROLE"]["value"] == "Viewer"
