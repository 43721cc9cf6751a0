"""Issue 10.2: drift verdicts that never claim what they cannot know.

The engine records per level whether it ran, was skipped (why) or failed; status.py turns that
into `highestSeverity` (`unknown` without a usable baseline or with a failed level), the
Drifted condition and one message that never says "in parity" of a level that did not run;
metrics and `parity diff -n` follow.
"""

from __future__ import annotations

import json

import pytest

from parity import constants, metrics
from parity.api import parse_baseline, parse_environment
from parity.cli import diff as diff_cli
from parity.cli.main import main
from parity.drift.engine import DriftReport, Skip, evaluate_drift
from parity.drift.levels import (
    BASELINE_NOT_FOUND,
    INVALID_BASELINE,
    NOT_PROBED_YET,
    PROBES_DISABLED,
)
from parity.drift.report import render
from parity.probes.base import ProbeResult
from parity.status import drift_message, drift_status, drifted_condition

NOW = "2026-01-01T00:00:00Z"
LATER = "2026-01-01T00:05:00Z"
ENV = parse_environment({"baselineRef": {"name": "production"}})
BASELINE = parse_baseline({})
PROBES_OFF = {"runtime": Skip(PROBES_DISABLED, "the operator runs without runtime probes")}
NOT_FOUND = Skip(BASELINE_NOT_FOUND, "ParityBaseline 'production' does not exist: kubectl get pbl")


def cm(name="dev-config", data=None):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "ns"},
            "data": data or {"a": "1"}}


def status_of(report, previous=None, now=NOW):
    return drift_status(report, previous or {}, baseline_name="production", baseline_generation=1, generation=3,
                        now=now)


# ---- engine: levels ------------------------------------------------------------------------


def test_levels_record_what_ran_and_why_the_rest_did_not():
    report = evaluate_drift(ENV, BASELINE, "production", desired=[cm()], live=[cm()], skips=PROBES_OFF)
    assert [(o.level, o.state, o.reason) for o in report.levels] == [
        ("declared", "ran", ""), ("live", "ran", ""), ("runtime", "skipped", PROBES_DISABLED)]
    assert report.verdict == "none"


def test_without_a_baseline_the_verdict_is_unknown_but_live_still_runs():
    missing_child = evaluate_drift(ENV, None, "production", desired=[cm()], live=[],
                                   skips={"declared": NOT_FOUND, **PROBES_OFF})
    assert missing_child.verdict == "unknown" and missing_child.highest == "warning"
    assert missing_child.unknown_cause.reason == BASELINE_NOT_FOUND
    assert [f.change for f in missing_child.findings] == ["missing"]
    clean = evaluate_drift(ENV, None, "production", desired=[cm()], live=[cm()], skips={"declared": NOT_FOUND})
    assert clean.verdict == "unknown" and clean.findings == ()


def test_a_level_that_raises_is_failed_and_the_verdict_unknown(monkeypatch):
    import parity.drift.engine as engine

    def broken(*_a, **_k):
        raise RuntimeError("boom")

    monkeypatch.setattr(engine, "evaluate_live", broken)
    report = evaluate_drift(ENV, BASELINE, "production", desired=[cm()], live=[cm()], skips=PROBES_OFF)
    live = {o.level: o for o in report.levels}["live"]
    assert (live.state, live.reason) == ("failed", "LevelFailed") and "boom" in live.message
    assert report.verdict == "unknown" and report.to_status()["highestSeverity"] == "unknown"


def test_runtime_level_states_from_probe_results():
    ok = ProbeResult("redis", "r:6379", values={})
    down = ProbeResult("etcd", "e:2379", error="refused")
    states = {}
    for name, results in {"all": [down], "some": [ok, down], "none": [ok]}.items():
        runtime = evaluate_drift(ENV, BASELINE, "p", probe_results=results).levels[2]
        states[name] = (runtime.state, runtime.reason)
    assert states == {"all": ("skipped", "Unreachable"), "some": ("ran", "PartlyUnreachable"), "none": ("ran", "")}


# ---- status: verdict, condition, message ---------------------------------------------------


@pytest.mark.parametrize("skip", [
    NOT_FOUND,
    Skip(INVALID_BASELINE, "ParityBaseline production: spec.defaultSeverity: Input should be 'info'"),
])
def test_missing_or_invalid_baseline_is_unknown_never_none(skip):
    """Before: highestSeverity none, Drifted Unknown only in the condition, in_parity 1."""
    report = evaluate_drift(ENV, None, "production", desired=[cm()], live=[cm()],
                            skips={"declared": skip, **PROBES_OFF})
    drift = status_of(report)
    assert drift["highestSeverity"] == "unknown"
    assert drift["levels"]["declared"] == {"state": "skipped", "reason": skip.reason, "message": skip.message,
                                           "checkedAt": NOW, "lastRanAt": None}
    assert drift["levels"]["live"]["state"] == "ran" and drift["levels"]["live"]["lastRanAt"] == NOW
    cond = drifted_condition(report, "production", 3)
    assert (cond["status"], cond["reason"]) == ("Unknown", skip.reason)
    assert cond["message"].startswith("drift unknown: " + skip.message)
    assert "runtime skipped: probes disabled" in cond["message"]
    assert "in parity with production" not in cond["message"]


def test_in_parity_is_said_only_of_levels_that_ran():
    report = evaluate_drift(ENV, BASELINE, "production", desired=[cm()], live=[cm()], skips=PROBES_OFF)
    assert drift_message(report, "production") == (
        "declared and live in parity with production; runtime skipped: probes disabled")
    cond = drifted_condition(report, "production", 3)
    assert (cond["status"], cond["reason"]) == ("False", "NoDrift")
    waiting = evaluate_drift(ENV, BASELINE, "production", desired=[cm()], live=[cm()],
                             skips={"runtime": Skip(NOT_PROBED_YET, "not yet")})
    assert drift_message(waiting, "production").endswith("runtime skipped: not probed yet")
    everything = evaluate_drift(ENV, BASELINE, "production", desired=[cm()], live=[cm()], probe_results=[])
    assert drift_message(everything, "production") == "declared, live and runtime in parity with production"


def test_drift_message_counts_and_names_skipped_levels():
    live = cm(data={"a": "2"})
    live["metadata"]["managedFields"] = [{"manager": "kubectl-edit", "operation": "Update",
                                          "fieldsV1": {"f:data": {"f:a": {}}}}]
    report = evaluate_drift(ENV, BASELINE, "production", desired=[cm()], live=[live], skips=PROBES_OFF)
    cond = drifted_condition(report, "production", 3)
    assert (cond["status"], cond["reason"]) == ("True", "WarningDrift")
    assert cond["message"].startswith("0 critical, 1 warning, 0 info against production; first: live.ConfigMap.data.a")
    assert cond["message"].endswith("; runtime skipped: probes disabled")


def test_level_times_and_first_detected():
    report = evaluate_drift(ENV, None, "production", desired=[cm()], live=[], skips={"declared": NOT_FOUND})
    first = status_of(report)
    assert first["firstDetectedAt"] == NOW  # a missing child is drift even while the verdict is unknown
    later = status_of(evaluate_drift(ENV, BASELINE, "production", desired=[cm()], live=[], probe_results=[]),
                      previous=first, now=LATER)
    assert later["firstDetectedAt"] == NOW
    assert later["levels"]["declared"]["lastRanAt"] == LATER
    again = status_of(report, previous=later, now="2026-01-01T00:09:00Z")
    # Skipped now: when it last ran is kept.
    assert again["levels"]["declared"]["lastRanAt"] == LATER and again["levels"]["declared"]["state"] == "skipped"


def test_status_round_trip_keeps_the_unknown_verdict():
    report = evaluate_drift(ENV, None, "production", desired=[cm()], live=[cm()], skips={"declared": NOT_FOUND})
    back = DriftReport.from_status(json.loads(json.dumps(status_of(report))))
    assert back.verdict == "unknown" and back.unknown_cause.reason == BASELINE_NOT_FOUND


# ---- metrics -------------------------------------------------------------------------------


def _sample(name, **labels):
    return metrics.REGISTRY.get_sample_value(name, labels)


def test_metrics_never_claim_parity_for_an_unknown_verdict():
    labels = {"namespace": "m", "environment": "unknown-env"}
    known = status_of(evaluate_drift(ENV, BASELINE, "production", desired=[cm()], live=[cm()], skips=PROBES_OFF))
    metrics.record_environment("m", "unknown-env", known)
    assert _sample("parity_environment_in_parity", **labels) == 1.0
    assert _sample("parity_drift_verdict_unknown", **labels) == 0.0
    assert _sample("parity_drift_level_ran", level="runtime", **labels) == 0.0
    assert _sample("parity_drift_level_ran", level="live", **labels) == 1.0
    unknown = status_of(evaluate_drift(ENV, None, "production", desired=[cm()], live=[cm()],
                                       skips={"declared": NOT_FOUND}))
    metrics.record_environment("m", "unknown-env", unknown)
    assert _sample("parity_environment_in_parity", **labels) is None
    assert _sample("parity_drift_verdict_unknown", **labels) == 1.0
    metrics.forget_environment("m", "unknown-env")
    assert _sample("parity_drift_verdict_unknown", **labels) is None


# ---- parity diff -n ------------------------------------------------------------------------


def penv(drift, generation=3, observed=3, drift_observed=3, conditions=()):
    return {"metadata": {"name": "dev", "namespace": "ns", "generation": generation},
            "spec": {"baselineRef": {"name": "production"}},
            "status": {"observedGeneration": observed, "conditions": list(conditions),
                       "drift": {**drift, "observedGeneration": drift_observed}}}


@pytest.fixture
def cluster(monkeypatch):
    def serve(obj):
        monkeypatch.setattr(diff_cli, "read_live_environment", lambda *_a, **_k: obj)
    return serve


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_diff_n_exits_one_with_the_reason_when_the_verdict_is_unknown(cluster, capsys):
    report = evaluate_drift(ENV, None, "production", desired=[cm()], live=[cm()],
                            skips={"declared": NOT_FOUND, **PROBES_OFF})
    cluster(penv(status_of(report)))
    code, out, err = run(capsys, "diff", "-n", "ns", "dev")
    assert code == 1, (out, err)
    assert "No drift" not in out and "Drift unknown" in out
    assert err.startswith("parity: ParityEnvironment ns/dev: drift unknown: ParityBaseline 'production' does not exist")
    code, out, _ = run(capsys, "diff", "-n", "ns", "dev", "-o", "json")
    assert code == 1 and json.loads(out)["verdict"] == "unknown"


def test_diff_n_names_skipped_levels_instead_of_claiming_parity(cluster, capsys):
    report = evaluate_drift(ENV, BASELINE, "production", desired=[cm()], live=[cm()], skips=PROBES_OFF)
    cluster(penv(status_of(report)))
    code, out, _ = run(capsys, "diff", "-n", "ns", "dev")
    assert code == 0
    assert out == 'No drift against baseline "production" (runtime skipped: probes disabled).\n'


def test_diff_n_refuses_a_status_older_than_the_spec(cluster, capsys):
    report = evaluate_drift(ENV, BASELINE, "production", desired=[cm()], live=[cm()], skips=PROBES_OFF)
    drift = status_of(report)
    for observed, drift_observed in ((2, 3), (3, 2), (None, 3)):
        cluster(penv(drift, generation=3, observed=observed, drift_observed=drift_observed))
        code, out, err = run(capsys, "diff", "-n", "ns", "dev")
        assert code == 1 and out == "", (observed, drift_observed)
        assert "but the spec is at generation 3" in err and "Traceback" not in err
        assert ("has not compared" in err) == (drift_observed == 2)
    stalled = {"type": "Stalled", "status": "True", "reason": "InvalidSpec", "message": "redis mode ..."}
    cluster(penv(drift, generation=4, observed=4, drift_observed=3, conditions=[stalled]))
    code, _, err = run(capsys, "diff", "-n", "ns", "dev")
    assert code == 1 and "Stalled: InvalidSpec" in err


def test_junit_marks_an_unknown_verdict_as_an_error():
    report = evaluate_drift(ENV, None, "production", skips={"declared": NOT_FOUND})
    xml = render(report, "junit")
    assert 'errors="1"' in xml and 'type="unknown"' in xml
    assert constants.DRIFT_LEVELS == ("declared", "live", "runtime")
