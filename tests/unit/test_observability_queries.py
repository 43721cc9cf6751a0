"""Dashboards and alert rules ask only for series the exporters in our images really expose.

tests/data/observed-metric-names.txt was read from the live Prometheus of the real node's sample
(etcd, Patroni 4, postgres_exporter, redis_exporter) and from the operator's own /metrics; a query
naming anything else (Patroni 3's `patroni_master`, a renamed exporter metric) would draw an
empty panel or an alert that can never fire.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from parity.api.models import EnvironmentSpec
from parity.metrics import REGISTRY
from parity.notify import metrics as _notify_metrics  # noqa: F401 - declares its series in REGISTRY
from parity.render import build_children, dashboards

REPO = Path(__file__).resolve().parents[2]
OBSERVED = {line.strip() for line in (REPO / "tests/data/observed-metric-names.txt").read_text().splitlines()
            if line.strip() and not line.startswith("#")} | {"up"}
# Prefixes of the exporters' and the operator's series; `up` is Prometheus's own.
METRIC = re.compile(r"\b(?:patroni|pg|redis|etcd|parity)_[a-z0-9_]+\b|\bup\b(?=\{)")
QUERIES = dashboards.shipped_queries()


def metric_names(expr: str) -> set[str]:
    return set(METRIC.findall(expr))


@pytest.mark.parametrize("where", sorted(QUERIES))
def test_query_names_only_observed_metrics(where):
    names = metric_names(QUERIES[where])
    assert names, f"{where}: no metric recognised in {QUERIES[where]!r}"
    assert names - OBSERVED == set(), f"{where} names series no exporter exposes"


def test_the_name_check_catches_patroni_3_names():
    assert metric_names('sum(patroni_master{job="patroni"})') - OBSERVED == {"patroni_master"}


def test_operator_series_in_the_list_are_the_operators_own():
    exposed = {sample.name for metric in REGISTRY.collect() for sample in metric.samples}
    declared = {metric.name for metric in REGISTRY.collect()}
    listed = {name for name in OBSERVED if name.startswith("parity_")}
    # Labelled series appear in collect() only once used; their metric family is always declared.
    assert all(any(name == d or name.startswith(d + "_") for d in declared) for name in listed)
    assert exposed <= listed | {f"{d}_created" for d in declared}


def test_every_query_of_both_kinds_is_checked():
    assert sum(where.startswith("alert ") for where in QUERIES) == len(dashboards.alert_names())
    assert sum(where.startswith("dashboard ") for where in QUERIES) == sum(
        len(dashboards.dashboard_source(name)["panels"]) for name in dashboards.DASHBOARDS)


def test_grafana_provisions_every_dashboard_from_its_data_file():
    spec = EnvironmentSpec.model_validate({"observability": {"enabled": True}})
    objs = {(o["kind"], o["metadata"]["name"]): o for o in build_children("dev", "team-a", "uid-1", spec)}
    data = objs[("ConfigMap", "dev-grafana-dashboards")]["data"]
    assert sorted(data) == sorted(f"{name}.json" for name in dashboards.DASHBOARDS)
    uids = set()
    for name in dashboards.DASHBOARDS:
        board = json.loads(data[f"{name}.json"])
        source = dashboards.dashboard_source(name)
        uids.add(board["uid"])
        assert board["title"] == f"{source['title']} (dev)"
        assert [p["title"] for p in board["panels"]] == [p["title"] for p in source["panels"]]
        assert all(p["targets"][0]["expr"] and p["datasource"]["uid"] == "prometheus" for p in board["panels"])
        assert len({(p["gridPos"]["x"], p["gridPos"]["y"]) for p in board["panels"]}) == len(board["panels"])
    assert len(uids) == len(dashboards.DASHBOARDS)


def test_prometheus_loads_the_alert_rules_it_mounts():
    spec = EnvironmentSpec.model_validate({"observability": {"enabled": True}})
    objs = {(o["kind"], o["metadata"]["name"]): o for o in build_children("dev", "team-a", "uid-1", spec)}
    data = objs[("ConfigMap", "dev-prometheus")]["data"]
    config = yaml.safe_load(data["prometheus.yml"])
    assert config["rule_files"] == ["/etc/prometheus/alerts.yaml"]
    assert data["alerts.yaml"] == dashboards.alert_rules_text()
    mounts = objs[("Deployment", "dev-prometheus")]["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
    assert {"mountPath": "/etc/prometheus", "name": "config", "readOnly": True} in mounts
