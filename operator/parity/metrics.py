"""Prometheus metrics. Labels are bounded: per environment (namespace, name) and per severity
or component, and an environment's series are removed when it is deleted."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from parity import constants

REGISTRY = CollectorRegistry(auto_describe=True)

DRIFT_ITEMS = Gauge("parity_drift_items", "Drift findings by environment and severity",
                    ["namespace", "environment", "severity"], registry=REGISTRY)
IN_PARITY = Gauge("parity_environment_in_parity", "1 when the environment has no drift against its baseline",
                  ["namespace", "environment"], registry=REGISTRY)
RECONCILE_SECONDS = Histogram("parity_reconcile_duration_seconds", "Time of one environment sync",
                              ["trigger"], registry=REGISTRY,
                              buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
DRIFT_EVALUATION_SECONDS = Histogram("parity_drift_evaluation_duration_seconds", "Time of one drift evaluation",
                                     registry=REGISTRY,
                                     buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
PROBE_FAILURES = Counter("parity_probe_failures_total", "Runtime probes that could not read their target",
                         ["component"], registry=REGISTRY)
RECONCILE_ERRORS = Counter("parity_reconcile_errors_total", "Environment syncs that raised",
                           ["trigger"], registry=REGISTRY)


def serve(port: int = constants.DEFAULT_METRICS_PORT, addr: str = "0.0.0.0"):
    """Serve /metrics; returns (server, thread) so cleanup can shut it down."""
    return start_http_server(port, addr=addr, registry=REGISTRY)


def record_environment(namespace: str, name: str, drift_status: dict) -> None:
    summary = drift_status.get("summary") or {}
    for severity in constants.SEVERITIES:
        DRIFT_ITEMS.labels(namespace, name, severity).set(summary.get(severity, 0))
    has_baseline = bool(drift_status.get("baseline"))
    IN_PARITY.labels(namespace, name).set(
        1 if has_baseline and drift_status.get("highestSeverity", "none") == "none" else 0)


def forget_environment(namespace: str, name: str) -> None:
    for severity in constants.SEVERITIES:
        try:
            DRIFT_ITEMS.remove(namespace, name, severity)
        except KeyError:
            pass
    try:
        IN_PARITY.remove(namespace, name)
    except KeyError:
        pass
