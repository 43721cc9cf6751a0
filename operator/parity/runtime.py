"""Collect the runtime level for one environment (the timer's job): read its baseline so the
probes ask for exactly the settings either side declares, run every probe, count failures."""

from __future__ import annotations

from parity import metrics
from parity.api import BaselineSpec, SpecError, parse_baseline
from parity.kube import resources
from parity.kube.client import Kube, KubeError
from parity.probes.base import ProbeResult
from parity.probes.collect import probe_environment


def collect_runtime(kube: Kube, body: dict, *, endpoint_map: dict | None = None, logger=None) -> list[ProbeResult]:
    """Blocking; never raises for an unreachable service (that is a finding, not a crash).
    `endpoint_map`: the operator's own endpoint overrides (OperatorConfig.endpoint_map)."""
    results = probe_environment(kube, body, baseline=_baseline_of(kube, body), endpoint_map=endpoint_map)
    for result in results:
        if not result.ok:
            metrics.PROBE_FAILURES.labels(result.component).inc()
            if logger is not None:
                logger.warning("runtime probe of %s at %s failed: %s", result.component, result.endpoint, result.error)
    return results


def _baseline_of(kube: Kube, body: dict) -> BaselineSpec | None:
    name = ((body.get("spec") or {}).get("baselineRef") or {}).get("name")
    if not name:
        return None
    try:
        baseline = kube.get(resources.BASELINE.object_path(name))
        return parse_baseline(baseline["spec"], source=f"ParityBaseline {name}") if baseline else None
    except (KubeError, SpecError, KeyError):
        return None
