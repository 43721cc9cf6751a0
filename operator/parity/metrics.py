"""Prometheus metrics. Labels are bounded: per environment (namespace, name) and per severity
or component, and an environment's series are removed when it is deleted."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from parity import constants

REGISTRY = CollectorRegistry(auto_describe=True)

DRIFT_ITEMS = Gauge("parity_drift_items", "Drift findings by environment and severity",
                    ["namespace", "environment", "severity"], registry=REGISTRY)
IN_PARITY = Gauge("parity_environment_in_parity",
                  "1 when the environment has no drift on the levels that ran, 0 when it has drift; absent while "
                  "the verdict is unknown (see parity_drift_verdict_unknown)",
                  ["namespace", "environment"], registry=REGISTRY)
VERDICT_UNKNOWN = Gauge("parity_drift_verdict_unknown",
                        "1 when drift cannot be known (no usable baseline, or a level failed), else 0",
                        ["namespace", "environment"], registry=REGISTRY)
LEVEL_RAN = Gauge("parity_drift_level_ran", "1 when the drift level ran in the last evaluation, 0 when it was "
                  "skipped or failed", ["namespace", "environment", "level"], registry=REGISTRY)
RECONCILE_SECONDS = Histogram("parity_reconcile_duration_seconds", "Time of one environment sync",
                              ["trigger"], registry=REGISTRY,
                              buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
DRIFT_EVALUATION_SECONDS = Histogram("parity_drift_evaluation_duration_seconds", "Time of one drift evaluation",
                                     registry=REGISTRY,
                                     buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
PROBE_FAILURES = Counter("parity_probe_failures_total", "Runtime probes that could not read their target",
                         ["component"], registry=REGISTRY)
TIMER_PASSES_SKIPPED = Counter("parity_timer_passes_skipped_total",
                               "Timer passes not run: the environment, its children and baseline are what its last "
                               "sync read, or its first sync has not started (handlers/quiet.py)", registry=REGISTRY)
RECONCILE_ERRORS = Counter("parity_reconcile_errors_total", "Environment syncs that raised",
                           ["trigger"], registry=REGISTRY)


def serve(port: int = constants.DEFAULT_METRICS_PORT, addr: str = "0.0.0.0"):
    """Serve /metrics; returns (server, thread) so cleanup can shut it down."""
    return start_http_server(port, addr=addr, registry=REGISTRY)


def record_environment(namespace: str, name: str, drift_status: dict) -> None:
    """Series of one environment from its status.drift. An unknown verdict claims nothing:
    in_parity is removed (not 0, which would read as "drift"; not 1) and verdict_unknown is 1."""
    summary = drift_status.get("summary") or {}
    for severity in constants.SEVERITIES:
        DRIFT_ITEMS.labels(namespace, name, severity).set(summary.get(severity, 0))
    verdict = drift_status.get("highestSeverity")
    unknown = verdict not in ("none", *constants.SEVERITIES)
    VERDICT_UNKNOWN.labels(namespace, name).set(1 if unknown else 0)
    if unknown:
        _remove(IN_PARITY, namespace, name)
    else:
        IN_PARITY.labels(namespace, name).set(1 if verdict == "none" else 0)
    levels = drift_status.get("levels") if isinstance(drift_status.get("levels"), dict) else {}
    for level in constants.DRIFT_LEVELS:
        state = (levels.get(level) or {}).get("state")
        LEVEL_RAN.labels(namespace, name, level).set(1 if state == "ran" else 0)


def _remove(gauge: Gauge, *labels: str) -> None:
    try:
        gauge.remove(*labels)
    except KeyError:
        pass


def forget_environment(namespace: str, name: str) -> None:
    for severity in constants.SEVERITIES:
        _remove(DRIFT_ITEMS, namespace, name, severity)
    for level in constants.DRIFT_LEVELS:
        _remove(LEVEL_RAN, namespace, name, level)
    _remove(IN_PARITY, namespace, name)
    _remove(VERDICT_UNKNOWN, namespace, name)
