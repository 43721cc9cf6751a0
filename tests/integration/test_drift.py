"""Drift on the real API server: status, printer columns, describe, events, baseline fan-out,
live drift from a child edit, enforce, and `parity diff -n` against the cluster."""

from __future__ import annotations

import base64
import copy
import json
import os
import re
import subprocess
import sys
import time

import pytest
import yaml
from support import REPO_ROOT, kget, wait_env_phase, wait_until

pytestmark = pytest.mark.integration


def sample() -> dict:
    return yaml.safe_load((REPO_ROOT / "manifests/samples/dev.yaml").read_text())


def production() -> dict:
    return yaml.safe_load((REPO_ROOT / "baselines/production.yaml").read_text())


def apply(plane, manifest: dict, namespace: str | None = None) -> None:
    args = ["apply", "-f", "-"] + (["-n", namespace] if namespace else [])
    plane.kubectl(*args, input=json.dumps(manifest))


def drift(plane, namespace, name="dev") -> dict:
    return (kget(plane, "penv", name, "-n", namespace).get("status") or {}).get("drift") or {}


def wait_drift(plane, namespace, predicate, what, name="dev", timeout=60):
    return wait_until(lambda: (d := drift(plane, namespace, name)) and predicate(d) and d, timeout=timeout, what=what)


def events(plane, namespace, reason) -> list[dict]:
    items = kget(plane, "events", "-n", namespace, "--field-selector", f"reason={reason}")["items"]
    return [e for e in items if e["involvedObject"]["kind"] == "ParityEnvironment"]


def parity_cli(plane, *args) -> subprocess.CompletedProcess:
    run_env = {**os.environ, "KUBECONFIG": str(plane.kubeconfig)}
    return subprocess.run([sys.executable, "-m", "parity.cli.main", *args], capture_output=True, text=True,
                          env=run_env)


def conditions(plane, namespace, name="dev") -> dict[str, dict]:
    return {c["type"]: c for c in (kget(plane, "penv", name, "-n", namespace).get("status") or {}).get("conditions", [])}


def exists(plane, namespace, kind, name) -> bool:
    return plane.kubectl("get", kind, name, "-n", namespace, check=False).returncode == 0


def apply_critical_drift(plane, namespace) -> tuple[dict, dict]:
    """The sample on PostgreSQL 15 where production runs 16 (a critical finding); returns the
    manifest and the drift status once the operator has reported it."""
    env = sample()
    env["spec"]["postgres"]["version"] = "15"
    apply(plane, env, namespace)
    return env, wait_drift(plane, namespace, lambda d: d.get("highestSeverity") == "critical", "critical drift")


def test_declared_drift_shows_in_status_columns_describe_and_events(operator, namespace):
    plane = operator.plane
    _, d = apply_critical_drift(plane, namespace)
    assert d["baseline"] == "production" and d["summary"]["critical"] >= 1
    assert d["firstDetectedAt"] and d["checkedAt"]
    top = d["findings"][0]
    assert top["path"] == "postgres.version" and top["severity"] == "critical" and top["level"] == "declared"
    assert "16" in top["remediation"] and "15" in top["remediation"]
    cond = {c["type"]: c for c in kget(plane, "penv", "dev", "-n", namespace)["status"]["conditions"]}["Drifted"]
    assert cond["status"] == "True" and cond["reason"] == "CriticalDrift"

    table = plane.kubectl("get", "penv", "-n", namespace).stdout
    header, row = table.splitlines()[:2]
    assert header.split()[:7] == ["NAME", "PHASE", "READY", "DRIFT", "CRITICAL", "WARNINGS", "BASELINE"]
    assert row.split()[3] == "critical" and int(row.split()[4]) == d["summary"]["critical"]
    assert row.split()[6] == "production"

    described = plane.kubectl("describe", "penv", "dev", "-n", namespace).stdout
    for text in ("Drifted", "CriticalDrift", "postgres.version", "DriftDetected"):
        assert text in described, text
    assert re.search(r"Highest Severity:\s+critical", described), described

    detected = wait_until(lambda: events(plane, namespace, "DriftDetected"), timeout=30, what="DriftDetected event")
    assert detected[0]["type"] == "Warning" and "postgres.version" in detected[0]["message"]

    # No event storm: resyncs with nothing new post nothing new.
    count = sum(e.get("count", 1) for e in events(plane, namespace, "DriftDetected"))
    for i in range(3):
        plane.kubectl("label", "--overwrite", "penv", "dev", "-n", namespace, f"touch={i}")
    operator.stop()
    operator.start()  # resumes and fully re-syncs every environment
    operator.wait_ready()
    time.sleep(5)  # give any (wrong) event the chance to be posted
    assert sum(e.get("count", 1) for e in events(plane, namespace, "DriftDetected")) == count

    # Secrets never leak into status or events.
    secret = kget(plane, "secret", "dev-postgres-credentials", "-n", namespace)
    passwords = [base64.b64decode(v).decode() for k, v in secret["data"].items() if "password" in k]
    assert passwords
    exposed = json.dumps(kget(plane, "penv", "dev", "-n", namespace)) + json.dumps(kget(plane, "events", "-n", namespace))
    assert not [p for p in passwords if p in exposed]


def test_drift_resolves_when_the_environment_matches_its_baseline(operator, namespace):
    plane = operator.plane
    matching = sample()
    for section, value in production()["spec"]["environment"].items():
        matching["spec"][section] = value
    # A critical difference the running environment can take back in place (the PostgreSQL major
    # or the volume size cannot change under existing data: the transition planner refuses them).
    env = copy.deepcopy(matching)
    env["spec"]["redis"]["config"]["maxmemory-policy"] = "noeviction"
    apply(plane, env, namespace)
    first = wait_drift(plane, namespace, lambda d: d.get("highestSeverity") == "critical", "critical drift")
    apply(plane, matching, namespace)
    d = wait_drift(plane, namespace, lambda d: d.get("highestSeverity") == "none", "no drift")
    assert d["summary"] == {"critical": 0, "warning": 0, "info": 0} and not d.get("findings")
    assert "firstDetectedAt" not in d and first["firstDetectedAt"]
    resolved = wait_until(lambda: events(plane, namespace, "DriftResolved"), timeout=30, what="DriftResolved event")
    assert resolved[0]["type"] == "Normal"
    cond = {c["type"]: c for c in kget(plane, "penv", "dev", "-n", namespace)["status"]["conditions"]}["Drifted"]
    assert cond["status"] == "False" and cond["reason"] == "NoDrift"
    # The operator runs here without runtime probes: parity is claimed for the levels that ran only.
    assert cond["message"] == "declared and live in parity with production; runtime skipped: probes disabled"
    assert d["message"] == cond["message"]
    assert {k: v["state"] for k, v in d["levels"].items()} == {"declared": "ran", "live": "ran", "runtime": "skipped"}
    assert d["levels"]["runtime"]["reason"] == "ProbesDisabled" and "lastRanAt" not in d["levels"]["runtime"]
    assert d["levels"]["declared"]["lastRanAt"]


def test_baseline_change_re_evaluates_every_environment_that_uses_it(operator, namespace):
    plane = operator.plane
    baseline = production()
    baseline["metadata"] = {"name": f"fanout-{namespace}"}
    apply(plane, baseline)
    try:
        for name in ("alpha", "beta"):
            env = sample()
            env["metadata"] = {"name": name}
            env["spec"]["baselineRef"] = {"name": baseline["metadata"]["name"]}
            apply(plane, env, namespace)
            wait_drift(plane, namespace, lambda d: d.get("baseline") == baseline["metadata"]["name"], "first check", name=name)
        baseline["spec"]["environment"]["postgres"]["version"] = "17"
        apply(plane, baseline)
        generation = kget(plane, "pbl", baseline["metadata"]["name"])["metadata"]["generation"]
        for name in ("alpha", "beta"):
            d = wait_drift(plane, namespace, lambda d: d.get("baselineGeneration") == generation, f"{name} re-evaluated",
                           name=name)
            assert any(f["path"] == "postgres.version" and f["severity"] == "critical" for f in d["findings"])
    finally:
        plane.kubectl("delete", "pbl", baseline["metadata"]["name"], "--wait=false", check=False)


def test_child_edit_is_live_drift_and_enforce_reverts_it(operator, namespace):
    plane = operator.plane
    env = sample()
    apply(plane, env, namespace)
    wait_env_phase(plane, namespace)
    plane.kubectl("scale", "statefulset", "dev-redis", "-n", namespace, "--replicas=5")
    d = wait_drift(plane, namespace, lambda d: any(f["level"] == "live" for f in d.get("findings", [])), "live drift")
    live = [f for f in d["findings"] if f["level"] == "live"]
    assert any(f["kind"] == "StatefulSet" and f["name"] == "dev-redis" and f["path"].endswith("spec.replicas")
               and f["local"] == "5" and f["baseline"] == "3" and f.get("manager") for f in live), live
    # report policy: the edit stays.
    time.sleep(2)
    assert kget(plane, "statefulset", "dev-redis", "-n", namespace)["spec"]["replicas"] == 5

    env["spec"]["drift"] = {**env["spec"].get("drift", {}), "policy": "enforce"}
    apply(plane, env, namespace)
    wait_until(lambda: kget(plane, "statefulset", "dev-redis", "-n", namespace)["spec"]["replicas"] == 3, timeout=60,
               what="replicas reverted")
    corrected = wait_until(lambda: events(plane, namespace, "DriftCorrected"), timeout=30, what="DriftCorrected event")
    assert "StatefulSet/dev-redis" in corrected[0]["message"]
    wait_drift(plane, namespace, lambda d: not any(f["level"] == "live" for f in d.get("findings", [])), "no live drift")

    # With enforce on, the next edit is reverted as it happens.
    plane.kubectl("scale", "statefulset", "dev-redis", "-n", namespace, "--replicas=4")
    wait_until(lambda: kget(plane, "statefulset", "dev-redis", "-n", namespace)["spec"]["replicas"] == 3, timeout=60,
               what="replicas reverted again")


def test_parity_diff_reads_a_live_environment(operator, namespace):
    plane = operator.plane
    apply_critical_drift(plane, namespace)
    cli = [sys.executable, "-m", "parity.cli.main", "diff", "-n", namespace, "dev", "-o", "json"]
    run_env = {**os.environ, "KUBECONFIG": str(plane.kubeconfig)}
    proc = subprocess.run(cli, capture_output=True, text=True, env=run_env)
    assert proc.returncode == 2, proc.stderr
    report = json.loads(proc.stdout)
    assert report["baseline"] == "production" and report["summary"]["critical"] >= 1
    assert any(i["path"] == "postgres.version" for i in report["items"])
    missing = subprocess.run([sys.executable, "-m", "parity.cli.main", "diff", "-n", namespace, "nope"],
                             capture_output=True, text=True, env=run_env)
    assert missing.returncode == 1 and "nope" in missing.stderr and "Traceback" not in missing.stderr


def test_metrics_report_drift_per_environment_and_severity(operator, namespace):
    import urllib.request

    plane = operator.plane
    _, d = apply_critical_drift(plane, namespace)

    def scrape() -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{operator.metrics_port}/metrics", timeout=5) as resp:
            return resp.read().decode()

    labels = f'environment="dev",namespace="{namespace}"'
    text = wait_until(lambda: (t := scrape()) and f'parity_drift_items{{{labels},severity="critical"}}' in t and t,
                      timeout=30, what="drift metrics")
    line = next(l for l in text.splitlines() if l.startswith(f'parity_drift_items{{{labels},severity="critical"}}'))
    assert float(line.split()[-1]) == d["summary"]["critical"]
    assert f"parity_environment_in_parity{{{labels}}} 0.0" in text
    for family in ("parity_reconcile_duration_seconds_bucket", "parity_drift_evaluation_duration_seconds_count"):
        assert family in text
    # Deleting the environment removes its series (bounded cardinality).
    plane.kubectl("delete", "penv", "dev", "-n", namespace, "--wait=true", "--timeout=60s")
    wait_until(lambda: labels not in scrape(), timeout=30, what="series removed")


def test_a_missing_baseline_is_an_unknown_verdict_everywhere(operator, namespace):
    """Issue 10.2: a baseline that does not exist read as highestSeverity none, DRIFT none,
    in_parity 1 and `parity diff -n` "No drift" with exit 0."""
    import urllib.request

    plane = operator.plane
    name = f"absent-{namespace}"
    env = sample()
    env["spec"]["baselineRef"] = {"name": name}
    apply(plane, env, namespace)
    d = wait_drift(plane, namespace, lambda d: d.get("highestSeverity") == "unknown", "unknown verdict")
    assert d["levels"]["declared"]["state"] == "skipped" and d["levels"]["declared"]["reason"] == "BaselineNotFound"
    assert d["levels"]["live"]["state"] == "ran"
    assert d["levels"]["runtime"]["reason"] == "ProbesDisabled"
    assert "in parity with" not in d["message"] and name in d["message"]
    drifted = conditions(plane, namespace)["Drifted"]
    assert (drifted["status"], drifted["reason"]) == ("Unknown", "BaselineNotFound")
    row = plane.kubectl("get", "penv", "dev", "-n", namespace, "--no-headers").stdout.split()
    assert row[3] == "unknown", row
    proc = parity_cli(plane, "diff", "-n", namespace, "dev")
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert "No drift" not in proc.stdout and "does not exist" in proc.stderr and "Traceback" not in proc.stderr
    unknown = wait_until(lambda: events(plane, namespace, "DriftUnknown"), timeout=30, what="DriftUnknown event")
    assert unknown[0]["type"] == "Warning" and name in unknown[0]["message"]

    with urllib.request.urlopen(f"http://127.0.0.1:{operator.metrics_port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    labels = f'environment="dev",namespace="{namespace}"'
    assert f"parity_environment_in_parity{{{labels}}}" not in text
    assert f"parity_drift_verdict_unknown{{{labels}}} 1.0" in text

    # The baseline appears: the verdict becomes known.
    baseline = production()
    baseline["metadata"] = {"name": name}
    apply(plane, baseline)
    try:
        d = wait_drift(plane, namespace, lambda d: d.get("highestSeverity") not in ("unknown", None), "known verdict")
        assert d["levels"]["declared"]["state"] == "ran"
        assert conditions(plane, namespace)["Drifted"]["status"] != "Unknown"
    finally:
        plane.kubectl("delete", "pbl", name, "--wait=false", check=False)
    # ... and unknown again once it is gone, keeping when the declared level last ran.
    d = wait_drift(plane, namespace, lambda d: d.get("highestSeverity") == "unknown", "unknown after deletion")
    assert d["levels"]["declared"]["state"] == "skipped" and d["levels"]["declared"]["lastRanAt"]


def test_parity_diff_refuses_a_status_older_than_the_spec(operator, namespace):
    """Issue 10.2: `parity diff -n` showed the verdict of an older spec as if it were current."""
    plane = operator.plane
    env, _ = apply_critical_drift(plane, namespace)
    # Current: the verdict is shown, and the summary names the level that did not run.
    proc = parity_cli(plane, "diff", "-n", namespace, "dev")
    assert proc.returncode == 2, proc.stderr
    assert re.search(r'against baseline "production": 1 critical, \d+ warning, \d+ info '
                     r'\(runtime skipped: probes disabled\)\.$', proc.stdout.splitlines()[-1]), proc.stdout
    # A spec the operator refuses: status keeps the last drift, computed for the previous generation.
    env["spec"]["redis"] = {**env["spec"]["redis"], "mode": "sentinel", "replicas": 1}
    apply(plane, env, namespace)
    wait_until(lambda: conditions(plane, namespace).get("Stalled", {}).get("reason") == "InvalidSpec", timeout=60,
               what="Stalled InvalidSpec")
    generation = kget(plane, "penv", "dev", "-n", namespace)["metadata"]["generation"]
    assert drift(plane, namespace)["observedGeneration"] < generation
    proc = parity_cli(plane, "diff", "-n", namespace, "dev")
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert f"the spec is at generation {generation}" in proc.stderr and "Stalled: InvalidSpec" in proc.stderr
    assert proc.stdout == ""


def test_a_deleted_child_is_a_missing_finding_and_degrades_the_environment(operator, namespace):
    """Issue 10.3: under the report policy a deleted Service left the environment Ready without
    a finding, and a deleted StatefulSet left it Provisioning forever."""
    plane = operator.plane
    apply(plane, sample(), namespace)
    wait_env_phase(plane, namespace, "Ready")
    plane.kubectl("delete", "service", "dev-postgres-primary", "-n", namespace)
    d = wait_drift(plane, namespace, lambda d: any(f["change"] == "missing" for f in d.get("findings", [])),
                   "missing finding")
    [gone] = [f for f in d["findings"] if f["change"] == "missing"]
    assert (gone["path"], gone["level"], gone["kind"], gone["name"], gone["severity"]) == (
        "live.Service", "live", "Service", "dev-postgres-primary", "critical")
    assert d["highestSeverity"] == "critical"
    status = wait_env_phase(plane, namespace, "Degraded", timeout=30)
    ready = {c["type"]: c for c in status["conditions"]}["Ready"]
    assert ready["status"] == "False" and ready["reason"] == "ChildMissing"
    assert "Service/dev-postgres-primary" in ready["message"]
    assert not exists(plane, namespace, "service", "dev-postgres-primary")  # report: not re-created

    # The remediation's command re-applies the children.
    assert "kubectl annotate penv/dev" in gone["remediation"]
    plane.kubectl("annotate", "penv", "dev", "-n", namespace, "resync=1", "--overwrite")
    wait_until(lambda: exists(plane, namespace, "service", "dev-postgres-primary"), timeout=60, what="re-created")
    wait_env_phase(plane, namespace, "Ready")
    wait_drift(plane, namespace, lambda d: not any(f["change"] == "missing" for f in d.get("findings", [])),
               "no missing finding")

    # A deleted StatefulSet: Degraded with a reason naming it, not "Provisioning" forever.
    plane.kubectl("delete", "statefulset", "dev-redis", "-n", namespace, "--wait=false")
    status = wait_env_phase(plane, namespace, "Degraded", timeout=60)
    assert "StatefulSet/dev-redis" in {c["type"]: c for c in status["conditions"]}["Ready"]["message"]
    d = drift(plane, namespace)
    assert any(f["path"] == "live.StatefulSet" and f["name"] == "dev-redis" and f["severity"] == "critical"
               for f in d["findings"])


def test_enforce_re_creates_a_deleted_child(operator, namespace):
    plane = operator.plane
    env = sample()
    env["spec"]["drift"] = {**env["spec"].get("drift", {}), "policy": "enforce"}
    apply(plane, env, namespace)
    wait_env_phase(plane, namespace, "Ready")
    plane.kubectl("delete", "service", "dev-postgres-primary", "-n", namespace)
    corrected = wait_until(lambda: [e for e in events(plane, namespace, "DriftCorrected")
                                    if "Service/dev-postgres-primary" in e["message"]],
                           timeout=60, what="DriftCorrected event")
    assert corrected[0]["type"] == "Normal"
    assert exists(plane, namespace, "service", "dev-postgres-primary")
    wait_env_phase(plane, namespace, "Ready")


def test_approve_lists_live_drift_and_re_applies_only_what_was_approved(operator, namespace):
    """Under approve, a child edited by hand is a pending correction (live:<Kind>/<name>); the
    approval re-applies that object only, and an object edited again after its approval stays."""
    plane = operator.plane
    env = sample()
    env["spec"]["drift"] = {**env["spec"].get("drift", {}), "policy": "approve"}
    apply(plane, env, namespace)
    wait_env_phase(plane, namespace)
    plane.kubectl("scale", "statefulset", "dev-redis", "-n", namespace, "--replicas=5")
    plane.kubectl("scale", "statefulset", "dev-sentinel", "-n", namespace, "--replicas=4")

    def pending():
        status = kget(plane, "penv", "dev", "-n", namespace).get("status") or {}
        return {c["path"]: c for c in (status.get("actuation") or {}).get("pendingCorrections") or []}

    listed = wait_until(lambda: (p := pending()) and {"live:StatefulSet/dev-redis", "live:StatefulSet/dev-sentinel"}
                        <= set(p) and p, timeout=60, what="live corrections pending")
    assert "spec.replicas=5" in listed["live:StatefulSet/dev-redis"]["from"]
    time.sleep(3)
    assert kget(plane, "statefulset", "dev-redis", "-n", namespace)["spec"]["replicas"] == 5  # held back

    cli = [sys.executable, "-m", "parity.cli.main", "drift", "approve", "-n", namespace, "dev",
           "--finding", "live:StatefulSet/dev-redis"]
    proc = subprocess.run(cli, capture_output=True, text=True, env={**os.environ, "KUBECONFIG": str(plane.kubeconfig)})
    assert proc.returncode == 0, proc.stderr
    wait_until(lambda: kget(plane, "statefulset", "dev-redis", "-n", namespace)["spec"]["replicas"] == 3, timeout=60,
               what="the approved object re-applied")
    corrected = wait_until(lambda: events(plane, namespace, "DriftCorrected"), timeout=30, what="DriftCorrected")
    assert "StatefulSet/dev-redis" in corrected[0]["message"] and "dev-sentinel" not in corrected[0]["message"]
    assert kget(plane, "statefulset", "dev-sentinel", "-n", namespace)["spec"]["replicas"] == 4  # not approved
    wait_until(lambda: "live:StatefulSet/dev-redis" not in pending() and "live:StatefulSet/dev-sentinel" in pending(),
               timeout=60, what="only the unapproved correction left")

    # Approved as shown, then edited again before the operator acted: another id, not applied.
    shown = pending()["live:StatefulSet/dev-sentinel"]
    plane.kubectl("scale", "statefulset", "dev-sentinel", "-n", namespace, "--replicas=6")
    wait_until(lambda: pending().get("live:StatefulSet/dev-sentinel", {}).get("id") not in (None, shown["id"]),
               timeout=60, what="the correction to show the new edit")
    approval = json.dumps([{"path": shown["path"], "id": shown["id"]}])
    plane.kubectl("annotate", "penv", "dev", "-n", namespace, "--overwrite",
                  f"approvals.parity.dev/corrections={approval}")
    time.sleep(5)
    assert kget(plane, "statefulset", "dev-sentinel", "-n", namespace)["spec"]["replicas"] == 6
