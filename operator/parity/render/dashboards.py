"""Grafana dashboards and Prometheus alert rules shipped with the observability stack.

Both are data files beside the builders (render/files/dashboards/*.yaml, render/files/prometheus/
alerts.yaml), so they can be read, reviewed and tested on their own (`promtool test rules` runs on
the alert file as shipped). A dashboard file lists only what differs between panels (title,
query, unit, kind, legend); `build_dashboard` expands it into Grafana's dashboard JSON with a
fixed two-column layout.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml

# One file per dashboard, in the order Grafana's folder lists them.
DASHBOARDS = ("postgres", "redis", "etcd", "parity")
ALERT_RULES_FILE = "alerts.yaml"
_DATASOURCE = {"type": "prometheus", "uid": "prometheus"}
_PANEL_WIDTH, _PANEL_HEIGHT = 12, 8


def _read(*parts: str) -> str:
    return resources.files("parity.render").joinpath("files", *parts).read_text()


@cache
def alert_rules_text() -> str:
    """The Prometheus rule file, byte for byte as shipped (promtool tests exactly this text)."""
    return _read("prometheus", ALERT_RULES_FILE)


def alert_names() -> list[str]:
    return [rule["alert"] for group in yaml.safe_load(alert_rules_text())["groups"] for rule in group["rules"]]


@cache
def dashboard_source(name: str) -> dict[str, Any]:
    """One dashboard's data file: uid, title and panels (title, expr, and optional kind/unit/legend)."""
    return yaml.safe_load(_read("dashboards", f"{name}.yaml"))


def _panel(index: int, panel: dict[str, Any]) -> dict[str, Any]:
    rendered: dict[str, Any] = {
        "id": index + 1,
        "type": panel.get("kind", "timeseries"),
        "title": panel["title"],
        "datasource": _DATASOURCE,
        "gridPos": {"h": _PANEL_HEIGHT, "w": _PANEL_WIDTH, "x": (index % 2) * _PANEL_WIDTH,
                    "y": (index // 2) * _PANEL_HEIGHT},
        "targets": [{"refId": "A", "expr": " ".join(panel["expr"].split()),
                     "legendFormat": panel.get("legend", ""), "datasource": _DATASOURCE}],
    }
    if "unit" in panel:
        rendered["fieldConfig"] = {"defaults": {"unit": panel["unit"]}, "overrides": []}
    return rendered


def build_dashboard(name: str, env_name: str) -> dict[str, Any]:
    """Grafana's JSON model of dashboard `name`, titled for environment `env_name`."""
    source = dashboard_source(name)
    return {
        "uid": source["uid"],
        "title": f"{source['title']} ({env_name})",
        "tags": ["parity", name],
        "schemaVersion": 39,
        "editable": False,
        "refresh": "30s",
        "time": {"from": "now-1h", "to": "now"},
        "panels": [_panel(i, panel) for i, panel in enumerate(source["panels"])],
    }


def shipped_queries() -> dict[str, str]:
    """Every PromQL query of the shipped dashboards and alert rules, by where it stands."""
    queries = {f"dashboard {name}: {p['title']}": p["expr"]
               for name in DASHBOARDS for p in dashboard_source(name)["panels"]}
    for group in yaml.safe_load(alert_rules_text())["groups"]:
        for rule in group["rules"]:
            queries[f"alert {rule['alert']}"] = rule["expr"]
    return {where: " ".join(expr.split()) for where, expr in queries.items()}
