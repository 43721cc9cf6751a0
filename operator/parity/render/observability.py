"""Opt-in observability: Prometheus, Grafana, Jaeger, OpenTelemetry Collector, exporters.

Rendered only when spec.observability.enabled; each part only when its own toggle is on.
Prometheus scrapes static per-pod DNS names, so it needs no Kubernetes API access (no RBAC).
Exporter credentials come from the PostgreSQL Secret through secretKeyRef, never inline.
Dashboards and alert rules are data files (render/dashboards.py). Each Prometheus keeps only its
own environment's series of the operator's metrics, which name every environment the operator runs.
"""

from __future__ import annotations

import re
from typing import Any

from parity import constants as c
from parity.api.models import EnvironmentSpec
from parity.render import dashboards, etcd, images, postgres, redis
from parity.render.common import (
    NON_ROOT_UID,
    ANNOTATION_CONFIG_HASH,
    Owner,
    config_hash,
    config_map,
    container_port,
    deployment,
    dump_json,
    dump_yaml,
    empty_dir_volume,
    env_secret,
    env_value,
    http_probe,
    pod_spec,
    read_only_root,
    service,
    service_port,
    tcp_probe,
)

COMPONENT = c.COMPONENT_OBSERVABILITY

PROMETHEUS = "prometheus"
GRAFANA = "grafana"
JAEGER = "jaeger"
OTEL_COLLECTOR = "otel-collector"
POSTGRES_EXPORTER = "postgres-exporter"
REDIS_EXPORTER = "redis-exporter"

PROMETHEUS_PORT = 9090
GRAFANA_PORT = 3000
JAEGER_UI_PORT = 16686
JAEGER_ADMIN_PORT = 14269
OTLP_GRPC_PORT = 4317
OTLP_HTTP_PORT = 4318
OTEL_PROMETHEUS_PORT = 8889
OTEL_HEALTH_PORT = 13133
POSTGRES_EXPORTER_PORT = 9187
REDIS_EXPORTER_PORT = 9121

# The operator's own metrics Service (deployed with the operator, not per environment).
OPERATOR_METRICS_TARGET = f"parity-operator-metrics.parity-system.svc:{c.DEFAULT_METRICS_PORT}"

DASHBOARD_DIR = "/etc/parity/dashboards"

# Requests and limits of each part, from what they use on the local real node (Prometheus of one
# environment about 100 MiB resident after its first hours, the exporters under 20 MiB) with room
# to grow; CPU limits are loose so that a burst is slowed, never a scrape failed.
RESOURCES = {
    PROMETHEUS: {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "50m", "memory": "256Mi"}},
    GRAFANA: {"limits": {"cpu": "500m", "memory": "512Mi"}, "requests": {"cpu": "25m", "memory": "128Mi"}},
    JAEGER: {"limits": {"cpu": "500m", "memory": "1Gi"}, "requests": {"cpu": "25m", "memory": "128Mi"}},
    OTEL_COLLECTOR: {"limits": {"cpu": "500m", "memory": "512Mi"}, "requests": {"cpu": "25m", "memory": "64Mi"}},
    POSTGRES_EXPORTER: {"limits": {"cpu": "250m", "memory": "128Mi"}, "requests": {"cpu": "10m", "memory": "32Mi"}},
    REDIS_EXPORTER: {"limits": {"cpu": "250m", "memory": "128Mi"}, "requests": {"cpu": "10m", "memory": "32Mi"}},
}
# Bounds of the scratch volumes: Prometheus's TSDB (days of one environment's series) and
# Grafana's SQLite database.
PROMETHEUS_DATA_LIMIT = "2Gi"
GRAFANA_DATA_LIMIT = "256Mi"
PROMETHEUS_CONFIG_DIR = "/etc/prometheus"


def part_name(env_name: str, part: str) -> str:
    """Name of every object of one part: `<env>-prometheus`, `<env>-otel-collector`, ..."""
    return f"{env_name}-{part}"


def enabled_parts(spec: EnvironmentSpec) -> list[str]:
    o = spec.observability
    if not o.enabled:
        return []
    toggles = [(PROMETHEUS, o.prometheus), (GRAFANA, o.grafana), (JAEGER, o.jaeger),
               (OTEL_COLLECTOR, o.otel_collector), (POSTGRES_EXPORTER, o.exporters), (REDIS_EXPORTER, o.exporters)]
    return [part for part, toggle in toggles if toggle.enabled]


def _url(owner: Owner, part: str, port: int) -> str:
    return f"http://{owner.service_host(part_name(owner.env_name, part))}:{port}"


def _host_port(owner: Owner, part: str, port: int) -> str:
    return f"{owner.service_host(part_name(owner.env_name, part))}:{port}"


# --- Prometheus ------------------------------------------------------------------------------

def build_prometheus_config(owner: Owner, spec: EnvironmentSpec) -> dict[str, Any]:
    env, ns = owner.env_name, owner.namespace
    parts = enabled_parts(spec)

    def static(job: str, targets: list[str], **extra: Any) -> dict[str, Any]:
        return {"job_name": job, "static_configs": [{"targets": targets}], **extra}

    jobs = [
        static("etcd", [f"{etcd.member_host(env, ns, i)}:{etcd.CLIENT_PORT}" for i in range(spec.etcd.replicas)]),
        static("patroni", [url.split("://", 1)[1] for url in
                           postgres.patroni_endpoints(env, ns, spec.postgres.replicas)]),
    ]
    if POSTGRES_EXPORTER in parts:
        jobs.append(static("postgres-exporter", [_host_port(owner, POSTGRES_EXPORTER, POSTGRES_EXPORTER_PORT)]))
    if REDIS_EXPORTER in parts:
        exporter = _host_port(owner, REDIS_EXPORTER, REDIS_EXPORTER_PORT)
        # redis_exporter's multi-target mode: one exporter, one scrape per Redis/Sentinel pod.
        relabel = [
            {"source_labels": ["__address__"], "target_label": "__param_target"},
            {"source_labels": ["__param_target"], "target_label": "instance"},
            {"replacement": exporter, "target_label": "__address__"},
        ]
        jobs.append(static("redis", [f"redis://{h}:{redis.REDIS_PORT}" for h in redis.redis_hosts(env, ns, spec.redis)],
                           metrics_path="/scrape", relabel_configs=relabel))
        sentinels = redis.sentinel_hosts(env, ns, spec.redis)
        if sentinels:
            jobs.append(static("sentinel", [f"redis://{h}:{redis.SENTINEL_PORT}" for h in sentinels],
                               metrics_path="/scrape", relabel_configs=relabel))
        jobs.append(static("redis-exporter", [exporter]))
    if OTEL_COLLECTOR in parts:
        jobs.append(static("otel-collector", [_host_port(owner, OTEL_COLLECTOR, OTEL_PROMETHEUS_PORT)]))
    jobs.append(static("parity-operator", [OPERATOR_METRICS_TARGET],
                       metric_relabel_configs=operator_metric_filter(env, ns)))
    jobs.append(static("prometheus", [f"localhost:{PROMETHEUS_PORT}"]))
    return {
        "global": {
            "scrape_interval": "15s",
            "evaluation_interval": "15s",
            "external_labels": {"parity_environment": env, "namespace": ns},
        },
        "rule_files": [f"{PROMETHEUS_CONFIG_DIR}/{dashboards.ALERT_RULES_FILE}"],
        "scrape_configs": jobs,
    }


def operator_metric_filter(env_name: str, namespace: str) -> list[dict[str, Any]]:
    """metric_relabel_configs that keep, of the operator's series, only those of this environment
    and those that name no environment at all (reconcile latency, probe failures, process metrics).

    The operator serves one /metrics for every environment it runs; without this filter each
    environment's Prometheus (and whoever can read its Grafana) would store other tenants'
    names and drift. Series of another environment are dropped before they are stored.
    """
    return [{
        "source_labels": ["namespace", "environment"],
        "separator": "/",
        # "/" alone: a series with neither label; anything else must be exactly this environment.
        "regex": f"/|{re.escape(namespace)}/{re.escape(env_name)}",
        "action": "keep",
    }]


def build_prometheus(owner: Owner, spec: EnvironmentSpec) -> list[dict[str, Any]]:
    name = part_name(owner.env_name, PROMETHEUS)
    data = {"prometheus.yml": dump_yaml(build_prometheus_config(owner, spec)),
            dashboards.ALERT_RULES_FILE: dashboards.alert_rules_text()}
    container = {
        "name": PROMETHEUS,
        "image": images.observability_image(PROMETHEUS, spec.observability.prometheus, owner.images),
        "args": [f"--config.file={PROMETHEUS_CONFIG_DIR}/prometheus.yml", "--storage.tsdb.path=/prometheus"],
        "ports": [container_port("http", PROMETHEUS_PORT)],
        "readinessProbe": http_probe("/-/ready", "http", period=5),
        "livenessProbe": http_probe("/-/healthy", "http", period=10, failures=6),
        "resources": RESOURCES[PROMETHEUS],
        "volumeMounts": [{"mountPath": PROMETHEUS_CONFIG_DIR, "name": "config", "readOnly": True},
                         {"mountPath": "/prometheus", "name": "data"}],
    }
    pod = pod_spec([read_only_root(container)], run_as=NOBODY,
                   volumes=[{"configMap": {"name": name}, "name": "config"},
                            empty_dir_volume("data", size_limit=PROMETHEUS_DATA_LIMIT)])
    return [
        config_map(owner, COMPONENT, name, data, app=PROMETHEUS),
        service(owner, COMPONENT, name, PROMETHEUS, [service_port("http", PROMETHEUS_PORT)]),
        deployment(owner, COMPONENT, name, PROMETHEUS, pod, annotations={ANNOTATION_CONFIG_HASH: config_hash(data)}),
    ]


# --- Grafana ---------------------------------------------------------------------------------

def build_grafana_datasources(owner: Owner, spec: EnvironmentSpec) -> dict[str, Any]:
    parts = enabled_parts(spec)
    sources = []
    if PROMETHEUS in parts:
        sources.append({"name": "Prometheus", "type": "prometheus", "uid": "prometheus", "access": "proxy",
                        "url": _url(owner, PROMETHEUS, PROMETHEUS_PORT), "isDefault": True})
    if JAEGER in parts:
        sources.append({"name": "Jaeger", "type": "jaeger", "uid": "jaeger", "access": "proxy",
                        "url": _url(owner, JAEGER, JAEGER_UI_PORT)})
    return {"apiVersion": 1, "datasources": sources}


def build_grafana_dashboard_provider() -> dict[str, Any]:
    return {"apiVersion": 1, "providers": [{
        "name": "parity", "folder": "Parity", "type": "file", "disableDeletion": True, "allowUiUpdates": False,
        "options": {"path": DASHBOARD_DIR},
    }]}


GRAFANA_ADMIN_USER = "admin"


def grafana_env(owner: Owner, spec: EnvironmentSpec) -> list[dict[str, Any]]:
    """Logins: the admin's password from the credentials Secret (an older Secret without the key
    leaves Grafana's own default, render/postgres.py says why); anonymous viewing only when the
    spec asks for it, and never more than Viewer."""
    env = []
    if owner.has_secret(postgres.GRAFANA_ADMIN_PASSWORD_KEY):
        env += [env_value("GF_SECURITY_ADMIN_USER", GRAFANA_ADMIN_USER),
                env_secret("GF_SECURITY_ADMIN_PASSWORD", postgres.secret_name(owner.env_name),
                           postgres.GRAFANA_ADMIN_PASSWORD_KEY)]
    env.append(env_value("GF_AUTH_ANONYMOUS_ENABLED", "true" if spec.observability.grafana.anonymous_viewer else "false"))
    if spec.observability.grafana.anonymous_viewer:
        env.append(env_value("GF_AUTH_ANONYMOUS_ORG_ROLE", "Viewer"))
    return env


def build_grafana(owner: Owner, spec: EnvironmentSpec) -> list[dict[str, Any]]:
    env = owner.env_name
    name = part_name(env, GRAFANA)
    provisioning = f"{name}-provisioning"
    dashboards_name = f"{name}-dashboards"
    provisioning_data = {
        "datasources.yaml": dump_yaml(build_grafana_datasources(owner, spec)),
        "dashboards.yaml": dump_yaml(build_grafana_dashboard_provider()),
    }
    dashboard_data = {f"{board}.json": dump_json(dashboards.build_dashboard(board, env))
                      for board in dashboards.DASHBOARDS}
    container = {
        "name": GRAFANA,
        "image": images.observability_image(GRAFANA, spec.observability.grafana, owner.images),
        "env": grafana_env(owner, spec),
        "ports": [container_port("http", GRAFANA_PORT)],
        "readinessProbe": http_probe("/api/health", "http", period=5),
        # Liveness only asks whether the server accepts connections: /api/health also checks the
        # database, which is a readiness question.
        "livenessProbe": tcp_probe("http", period=10, failures=6),
        "resources": RESOURCES[GRAFANA],
        "volumeMounts": [
            {"mountPath": "/etc/grafana/provisioning/datasources", "name": "datasources", "readOnly": True},
            {"mountPath": "/etc/grafana/provisioning/dashboards", "name": "dashboard-provider", "readOnly": True},
            {"mountPath": DASHBOARD_DIR, "name": "dashboards", "readOnly": True},
            {"mountPath": "/var/lib/grafana", "name": "data"},
        ],
    }
    volumes = [
        {"configMap": {"items": [{"key": "datasources.yaml", "path": "datasources.yaml"}], "name": provisioning},
         "name": "datasources"},
        {"configMap": {"items": [{"key": "dashboards.yaml", "path": "dashboards.yaml"}], "name": provisioning},
         "name": "dashboard-provider"},
        {"configMap": {"name": dashboards_name}, "name": "dashboards"},
        empty_dir_volume("data", size_limit=GRAFANA_DATA_LIMIT),
    ]
    digest = config_hash({**provisioning_data, **dashboard_data})
    return [
        config_map(owner, COMPONENT, provisioning, provisioning_data, app=GRAFANA),
        config_map(owner, COMPONENT, dashboards_name, dashboard_data, app=GRAFANA),
        service(owner, COMPONENT, name, GRAFANA, [service_port("http", GRAFANA_PORT)]),
        deployment(owner, COMPONENT, name, GRAFANA, pod_spec([container], volumes=volumes, run_as=GRAFANA_UID),
                   annotations={ANNOTATION_CONFIG_HASH: digest}),
    ]


# --- Jaeger ----------------------------------------------------------------------------------

def build_jaeger(owner: Owner, spec: EnvironmentSpec) -> list[dict[str, Any]]:
    name = part_name(owner.env_name, JAEGER)
    container = {
        "name": JAEGER,
        "image": images.observability_image(JAEGER, spec.observability.jaeger, owner.images),
        # In-memory storage: bound it so a chatty service cannot exhaust the pod's memory.
        "env": [env_value("MEMORY_MAX_TRACES", "50000")],
        "ports": [container_port("ui", JAEGER_UI_PORT), container_port("otlp-grpc", OTLP_GRPC_PORT),
                  container_port("otlp-http", OTLP_HTTP_PORT), container_port("admin", JAEGER_ADMIN_PORT)],
        "readinessProbe": http_probe("/", "admin", period=5),
        "livenessProbe": tcp_probe("admin", period=10, failures=6),
        "resources": RESOURCES[JAEGER],
    }
    ports = [service_port("ui", JAEGER_UI_PORT), service_port("otlp-grpc", OTLP_GRPC_PORT),
             service_port("otlp-http", OTLP_HTTP_PORT)]
    return [
        service(owner, COMPONENT, name, JAEGER, ports),
        deployment(owner, COMPONENT, name, JAEGER, pod_spec([container], run_as=NON_ROOT_UID)),
    ]


# --- OpenTelemetry Collector -----------------------------------------------------------------

def build_otel_collector_config(owner: Owner, spec: EnvironmentSpec) -> dict[str, Any]:
    # Endpoints are spelled out: since collector 0.104 receivers listen on localhost by default.
    exporters: dict[str, Any] = {"prometheus": {"endpoint": f"0.0.0.0:{OTEL_PROMETHEUS_PORT}"}}
    if JAEGER in enabled_parts(spec):
        exporters["otlp/jaeger"] = {"endpoint": _host_port(owner, JAEGER, OTLP_GRPC_PORT), "tls": {"insecure": True}}
        trace_exporters = ["otlp/jaeger"]
    else:
        # Without Jaeger traces are still accepted (clients do not fail) and only counted in the log.
        exporters["debug"] = {"verbosity": "basic"}
        trace_exporters = ["debug"]
    return {
        "receivers": {"otlp": {"protocols": {
            "grpc": {"endpoint": f"0.0.0.0:{OTLP_GRPC_PORT}"},
            "http": {"endpoint": f"0.0.0.0:{OTLP_HTTP_PORT}"},
        }}},
        "processors": {"batch": {}},
        "exporters": exporters,
        "extensions": {"health_check": {"endpoint": f"0.0.0.0:{OTEL_HEALTH_PORT}"}},
        "service": {
            "extensions": ["health_check"],
            "pipelines": {
                "traces": {"receivers": ["otlp"], "processors": ["batch"], "exporters": trace_exporters},
                "metrics": {"receivers": ["otlp"], "processors": ["batch"], "exporters": ["prometheus"]},
            },
        },
    }


def build_otel_collector(owner: Owner, spec: EnvironmentSpec) -> list[dict[str, Any]]:
    name = part_name(owner.env_name, OTEL_COLLECTOR)
    data = {"config.yaml": dump_yaml(build_otel_collector_config(owner, spec))}
    container = {
        "name": OTEL_COLLECTOR,
        "image": images.observability_image(OTEL_COLLECTOR, spec.observability.otel_collector, owner.images),
        "args": ["--config=/etc/otelcol/config.yaml"],
        "ports": [container_port("otlp-grpc", OTLP_GRPC_PORT), container_port("otlp-http", OTLP_HTTP_PORT),
                  container_port("metrics", OTEL_PROMETHEUS_PORT), container_port("health", OTEL_HEALTH_PORT)],
        "readinessProbe": http_probe("/", "health", period=5),
        "livenessProbe": tcp_probe("health", period=10, failures=6),
        "resources": RESOURCES[OTEL_COLLECTOR],
        "volumeMounts": [{"mountPath": "/etc/otelcol", "name": "config", "readOnly": True}],
    }
    ports = [service_port("otlp-grpc", OTLP_GRPC_PORT), service_port("otlp-http", OTLP_HTTP_PORT),
             service_port("metrics", OTEL_PROMETHEUS_PORT)]
    pod = pod_spec([container], volumes=[{"configMap": {"name": name}, "name": "config"}], run_as=NON_ROOT_UID)
    return [
        config_map(owner, COMPONENT, name, data, app=OTEL_COLLECTOR),
        service(owner, COMPONENT, name, OTEL_COLLECTOR, ports),
        deployment(owner, COMPONENT, name, OTEL_COLLECTOR, pod,
                   annotations={ANNOTATION_CONFIG_HASH: config_hash(data)}),
    ]


# --- exporters -------------------------------------------------------------------------------

def build_postgres_exporter(owner: Owner, spec: EnvironmentSpec) -> list[dict[str, Any]]:
    env = owner.env_name
    name = part_name(env, POSTGRES_EXPORTER)
    secret = postgres.secret_name(env)
    primary = owner.service_host(postgres.primary_service_name(env))
    container = {
        "name": POSTGRES_EXPORTER,
        "image": images.observability_image(POSTGRES_EXPORTER, catalog=owner.images),
        "env": [
            # The rendered pg_hba takes scram-sha-256 over plain TCP inside the pod network.
            env_value("DATA_SOURCE_URI", f"{primary}:{postgres.POSTGRES_PORT}/postgres?sslmode=disable"),
            # The pg_monitor role post-init.sh creates; the superuser only for an environment whose
            # Secret predates that role (a key is generated with the Secret or not at all).
            *([env_secret("DATA_SOURCE_USER", secret, postgres.MONITOR_USERNAME_KEY),
               env_secret("DATA_SOURCE_PASS", secret, postgres.MONITOR_PASSWORD_KEY)]
              if owner.has_secret(postgres.MONITOR_PASSWORD_KEY) else
              [env_secret("DATA_SOURCE_USER", secret, postgres.SUPERUSER_USERNAME_KEY),
               env_secret("DATA_SOURCE_PASS", secret, postgres.SUPERUSER_PASSWORD_KEY)]),
        ],
        "ports": [container_port("metrics", POSTGRES_EXPORTER_PORT)],
        "readinessProbe": http_probe("/", "metrics", period=10),
        "livenessProbe": tcp_probe("metrics", period=10, failures=6),
        "resources": RESOURCES[POSTGRES_EXPORTER],
    }
    return [
        service(owner, COMPONENT, name, POSTGRES_EXPORTER, [service_port("metrics", POSTGRES_EXPORTER_PORT)]),
        deployment(owner, COMPONENT, name, POSTGRES_EXPORTER, pod_spec([read_only_root(container)], run_as=NOBODY)),
    ]


def build_redis_exporter(owner: Owner, spec: EnvironmentSpec) -> list[dict[str, Any]]:
    env = owner.env_name
    name = part_name(env, REDIS_EXPORTER)
    container = {
        "name": REDIS_EXPORTER,
        "image": images.observability_image(REDIS_EXPORTER, catalog=owner.images),
        # The default target serves /metrics; Prometheus scrapes each pod through /scrape.
        # REDIS_PASSWORD: for REDIS_ADDR and for every multi-target scrape (Redis and Sentinel share it).
        "env": [env_value("REDIS_ADDR", f"redis://{owner.service_host(redis.service_name(env))}:{redis.REDIS_PORT}"),
                *redis.password_env_for_clients(owner)],
        "ports": [container_port("metrics", REDIS_EXPORTER_PORT)],
        "readinessProbe": http_probe("/health", "metrics", period=10),
        "livenessProbe": tcp_probe("metrics", period=10, failures=6),
        "resources": RESOURCES[REDIS_EXPORTER],
    }
    return [
        service(owner, COMPONENT, name, REDIS_EXPORTER, [service_port("metrics", REDIS_EXPORTER_PORT)]),
        deployment(owner, COMPONENT, name, REDIS_EXPORTER, pod_spec([read_only_root(container)], run_as=NOBODY)),
    ]


# Prometheus and the exporters run as nobody, as their images (local and upstream) do; they
# write nothing but Prometheus' TSDB, an emptyDir.
NOBODY = 65534
# The published images' own users, stated so the pod is admitted as non-root: grafana/grafana
# runs as 472 (its Helm chart sets 472/472/472); jaeger all-in-one and the collector as 10001.
GRAFANA_UID = 472


_BUILDERS = {
    PROMETHEUS: build_prometheus,
    GRAFANA: build_grafana,
    JAEGER: build_jaeger,
    OTEL_COLLECTOR: build_otel_collector,
    POSTGRES_EXPORTER: build_postgres_exporter,
    REDIS_EXPORTER: build_redis_exporter,
}


def build_observability(owner: Owner, spec: EnvironmentSpec) -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = []
    for part in enabled_parts(spec):
        objects.extend(_BUILDERS[part](owner, spec))
    return objects
