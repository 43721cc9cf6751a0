"""Issue 16.1: faults the operator must survive, each checked by its invariant, not by "no crash".

These tests run a private control plane and an operator of their own (module fixtures): they
kill the operator, restart the API server and etcd, and must not disturb the session's
operator or be served by it. The operator here resyncs only every 10 minutes, so what it
notices in these tests it noticed through its watches, not through the periodic pass.

Figures (recovery seconds, events per environment) are printed with `-s`; the seeds of the
kill trials are printed too, and PARITY_FAULT_SEED=<seed> PARITY_FAULT_TRIALS=1 replays one.
"""

from __future__ import annotations

import json
import os
import random
import signal
import threading
import time
import uuid

import pytest
from support import REPO_ROOT, Operator, kget, wait_until

from parity import constants
from parity.api import parse_environment
from parity.kube import resources
from parity.kube.client import Kube, KubeError
from parity.render import postgres as postgres_render
from parity.render.environment import build_children

pytestmark = pytest.mark.integration

# Kill trials: how many, how many environments provision at once in each, and the first seed.
# The issue asks for 10 environments and at least 10 trials; on a loaded 2-core machine a trial
# with 10 environments takes 30-60 s and one with 2 about 15 s, so the default here is 6 trials
# of 2 (seeds 1619-1624 kill before any write, after the last, and at 6 %, 17 % and 43 % of the
# children). PARITY_FAULT_TRIALS=10 PARITY_FAULT_ENVIRONMENTS=10 runs the issue's shape.
TRIALS = int(os.environ.get("PARITY_FAULT_TRIALS", "6"))
ENVIRONMENTS = int(os.environ.get("PARITY_FAULT_ENVIRONMENTS", "2"))
BASE_SEED = int(os.environ.get("PARITY_FAULT_SEED", "1619"))
# "Recovers on its own within 30 s": the bound on catching up once the control plane is back.
RECOVERY_SECONDS = 30
# Events one environment may get in a kill trial. Its spec differs from production in the same
# way for its whole life, so it earns one DriftDetected: the sync writes status first and posts
# the event after, so a kill between the two loses the event rather than doubling it (the next
# life finds the findings already in status), and a kill before the write leaves it to the next
# life. Besides, each of the two operator lives may post one kopf "failed temporarily" warning
# (a 409 or an API error that outlived the sync's own retries). More than that is a storm.
EVENTS_PER_ENVIRONMENT_BOUND = 1 + 2

# Every kind the operator writes (from the one list it writes from), and Roles, which it must never create.
CHILD_KINDS = ",".join(sorted({f"{r.plural}.{r.api_version.rpartition('/')[0]}".rstrip(".")
                               for r in resources.CHILD_RESOURCES} | {"roles.rbac.authorization.k8s.io"}))
COMPETITOR = "fault-test-competitor"


def light_environment(name: str, baseline: str = "production") -> dict:
    """The smallest whole topology: one member each, standalone Redis, no observability."""
    return {
        "apiVersion": f"{constants.GROUP}/{constants.VERSION}", "kind": "ParityEnvironment",
        "metadata": {"name": name},
        "spec": {
            "baselineRef": {"name": baseline},
            "etcd": {"replicas": 1, "version": "3.5.17"},
            "postgres": {"replicas": 1, "version": "16", "storage": {"size": "1Gi"}},
            "redis": {"mode": "standalone", "replicas": 1, "version": "7.2"},
            "observability": {"enabled": False},
        },
    }


@pytest.fixture(scope="module")
def fault_plane(tmp_path_factory):
    from parity.controlplane import ControlPlane, find_binaries

    plane = ControlPlane(tmp_path_factory.mktemp("fault-plane"), bin_dir=find_binaries())
    plane.start(timeout=180)
    try:
        plane.kubectl("apply", "--server-side", "-k", str(REPO_ROOT / "crds"))
        # Right after creation a CRD has no conditions yet, which `kubectl wait` takes as an error.
        wait_until(lambda: plane.kubectl("wait", "--for=condition=Established", "--timeout=30s",
                                         "crd/parityenvironments.parity.dev", "crd/paritybaselines.parity.dev",
                                         check=False).returncode == 0, timeout=90, what="CRDs Established")
        plane.kubectl("apply", "--server-side", "-f", str(REPO_ROOT / "baselines"))
        plane.kubectl("apply", "--server-side", "-f", str(REPO_ROOT / "manifests/operator/patroni-rbac.yaml"))
        yield plane
    finally:
        plane.stop(remove_state=False)


@pytest.fixture(scope="module")
def fault_operator(fault_plane, tmp_path_factory):
    op = Operator(fault_plane, tmp_path_factory.mktemp("fault-operator") / "operator.log",
                  env={"PARITY_RESYNC_SECONDS": "600"})
    op.start()
    op.wait_ready()
    try:
        yield op
    finally:
        op.stop()


@pytest.fixture
def fault_namespace(fault_plane, request):
    name = f"f-{request.node.name.replace('_', '-')[5:30].strip('-')}-{uuid.uuid4().hex[:5]}"
    fault_plane.kubectl("create", "namespace", name)
    yield name
    fault_plane.kubectl("delete", "namespace", name, "--wait=false", check=False)


@pytest.fixture
def kube(fault_plane):
    client = Kube.connect(str(fault_plane.kubeconfig))
    yield client
    client.close()


def apply(plane, manifest: dict, namespace: str | None = None) -> None:
    plane.kubectl("apply", "-f", "-", *(["-n", namespace] if namespace else []), input=json.dumps(manifest))


def env_body(plane, namespace: str, name: str) -> dict:
    return kget(plane, "penv", name, "-n", namespace)


def converged(plane, namespace: str, names: list[str]):
    """Every environment Ready at its current generation (else a falsy value)."""
    items = {e["metadata"]["name"]: e for e in kget(plane, "penv", "-n", namespace)["items"]}
    for name in names:
        env = items.get(name)
        status = (env or {}).get("status") or {}
        if status.get("phase") != "Ready" or status.get("observedGeneration") != env["metadata"]["generation"]:
            return None
    return items


def wait_converged(plane, namespace: str, names: list[str], timeout: float, what: str) -> dict:
    """converged(), or an AssertionError showing where each environment and its workloads stand."""
    try:
        return wait_until(lambda: converged(plane, namespace, names), timeout=timeout, interval=0.5, what=what)
    except AssertionError as err:
        statuses = {e["metadata"]["name"]: {
            "generation": e["metadata"]["generation"], "observed": (e.get("status") or {}).get("observedGeneration"),
            "phase": (e.get("status") or {}).get("phase"),
            "conditions": [(c["type"], c["status"], c.get("reason")) for c in (e.get("status") or {}).get("conditions", [])]}
            for e in kget(plane, "penv", "-n", namespace)["items"]}
        workloads = plane.kubectl("get", "sts,pods", "-n", namespace, "-o", "wide", check=False).stdout
        raise AssertionError(f"{err}\n{json.dumps(statuses, indent=1)}\n{workloads}") from None


def secret_snapshot(plane, namespace: str) -> dict[str, tuple[str, dict]]:
    """credentials Secret name -> (uid, data) for every one that exists now."""
    items = kget(plane, "secrets", "-n", namespace, "-l", constants.LABEL_ENVIRONMENT)["items"]
    return {s["metadata"]["name"]: (s["metadata"]["uid"], s.get("data") or {}) for s in items}


def parity_events(plane, namespace: str) -> dict[str, list[dict]]:
    """Events about ParityEnvironments, by environment name."""
    by_env: dict[str, list[dict]] = {}
    for event in kget(plane, "events", "-n", namespace)["items"]:
        if event["involvedObject"].get("kind") == "ParityEnvironment":
            by_env.setdefault(event["involvedObject"]["name"], []).append(event)
    return by_env


def event_count(events: list[dict]) -> int:
    return sum(max(e.get("count") or 1, (e.get("series") or {}).get("count") or 1) for e in events)


def rendered_children(env: dict, namespace: str = "ns", uid: str = "uid") -> list[tuple[str, str]]:
    spec = parse_environment(env["spec"], source=env["metadata"]["name"])
    return sorted((m["kind"], m["metadata"]["name"]) for m in build_children(
        env["metadata"]["name"], namespace, uid, spec, secret_values=postgres_render.generate_passwords()))


def children_in(plane, namespace: str) -> list[str]:
    return plane.kubectl("get", CHILD_KINDS, "-n", namespace, "-l", constants.LABEL_ENVIRONMENT,
                         "-o", "name").stdout.split()


def check_children(plane, namespace: str, envs: dict[str, dict]) -> None:
    """Exactly the children each environment's spec renders: none twice, none missing, none
    extra, each controlled by its environment and labelled as its own; nothing orphaned."""
    uids = {e["metadata"]["uid"]: name for name, e in envs.items()}
    by_env: dict[str, list[tuple[str, str]]] = {name: [] for name in envs}
    for obj in kget(plane, CHILD_KINDS, "-n", namespace)["items"]:
        meta = obj["metadata"]
        labels = meta.get("labels") or {}
        refs = [r for r in meta.get("ownerReferences") or [] if r.get("kind") == "ParityEnvironment"]
        if not refs and labels.get(constants.LABEL_MANAGED_BY) != constants.MANAGED_BY:
            continue  # not ours (the default ServiceAccount, the root CA ConfigMap)
        controllers = [r for r in refs if r.get("controller")]
        where = f"{obj['kind']}/{meta['name']}"
        assert len(controllers) == 1 and controllers[0]["uid"] in uids, f"orphaned or doubly owned: {where} {refs}"
        owner = uids[controllers[0]["uid"]]
        assert labels.get(constants.LABEL_ENVIRONMENT) == owner, f"{where}: labelled for another environment"
        assert labels.get(constants.LABEL_MANAGED_BY) == constants.MANAGED_BY, where
        by_env[owner].append((obj["kind"], meta["name"]))
    for name, env in envs.items():
        wanted = rendered_children(env, namespace, env["metadata"]["uid"])
        assert sorted(by_env[name]) == wanted, (name, sorted(by_env[name]), wanted)


def test_kill_9_while_environments_provision_converges_without_duplicates_or_new_passwords(fault_plane,
                                                                                         fault_operator):
    plane, op = fault_plane, fault_operator
    seeds = [BASE_SEED + trial for trial in range(TRIALS)]
    print(f"\nkill -9 trials: {TRIALS} x {ENVIRONMENTS} environments, seeds {seeds}")
    worst_events, slowest = 0, 0.0
    for seed in seeds:
        # The kill point: once this share of all the children exist, found by polling, so it does
        # not depend on how fast this machine is today. Clamped from a wider range, so about one
        # trial in eight kills before any write (0) and one in eight after the last child was
        # applied (1: pods still becoming ready, status not written yet).
        share = round(min(1.0, max(0.0, random.Random(seed).uniform(-0.15, 1.15))), 2)
        namespace = f"kill-{seed}-{uuid.uuid4().hex[:5]}"
        plane.kubectl("create", "namespace", namespace)
        names = [f"e{i}" for i in range(ENVIRONMENTS)]
        total = ENVIRONMENTS * len(rendered_children(light_environment("x")))
        op.wait_ready()
        plane.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(
            {"apiVersion": "v1", "kind": "List", "items": [light_environment(n) for n in names]}))
        if share > 0:  # 0: at once, before the operator has had the time to write anything
            wait_until(lambda: len(children_in(plane, namespace)) >= share * total, timeout=120, interval=0.1,
                       what=f"seed {seed}: {share:.0%} of the children")
        op.stop(kill=True)
        written = len(children_in(plane, namespace))
        # What the killed operator left behind: every Secret it wrote must survive as it is.
        before = secret_snapshot(plane, namespace)
        op.start()
        started = time.monotonic()
        envs = wait_converged(plane, namespace, names, timeout=180, what=f"seed {seed}: every environment Ready")
        took = time.monotonic() - started
        slowest = max(slowest, took)
        check_children(plane, namespace, {n: envs[n] for n in names})
        after = secret_snapshot(plane, namespace)
        for secret, (uid, data) in before.items():
            assert after.get(secret) == (uid, data), f"seed {seed}: {secret} was replaced or its passwords regenerated"
        assert len(after) == ENVIRONMENTS
        events = parity_events(plane, namespace)
        counts = {n: event_count(events.get(n, [])) for n in names}
        worst_events = max(worst_events, *counts.values())
        print(f"  seed {seed}: killed at {written}/{total} children ({share:.0%} asked), {len(before)}/{ENVIRONMENTS} "
              f"Secrets written; "
              f"all Ready {took:.1f}s after the restart; events per environment max {max(counts.values())}")
        assert max(counts.values()) <= EVENTS_PER_ENVIRONMENT_BOUND, (seed, {
            n: [(e["reason"], e.get("count"), e["message"][:80]) for e in events.get(n, [])] for n in names})
        plane.kubectl("delete", "namespace", namespace, "--wait=false")
    print(f"  worst: events per environment {worst_events} (bound {EVENTS_PER_ENVIRONMENT_BOUND}), "
          f"all Ready {slowest:.1f}s after a restart")


def _restart_mid_reconcile(plane, op, namespace: str, process: str) -> None:
    name = "r"
    env = light_environment(name)
    apply(plane, env, namespace)
    wait_converged(plane, namespace, [name], timeout=120, what="Ready before the fault")
    # A spec change, then the fault while the operator is applying it.
    env["spec"]["postgres"]["replicas"] = 2
    apply(plane, env, namespace)
    time.sleep(0.3)
    away = plane.restart(process, down_seconds=2)
    back = time.monotonic()
    envs = wait_converged(plane, namespace, [name], timeout=RECOVERY_SECONDS,
                          what=f"status caught up after the {process} restart")
    status = envs[name]["status"]
    assert status["components"]["postgres"]["desired"] == status["components"]["postgres"]["ready"] == 2
    assert kget(plane, "statefulset", f"{name}-postgres", "-n", namespace)["spec"]["replicas"] == 2
    print(f"\n{process} away {away:.1f}s; status caught up {time.monotonic() - back:.1f}s after it was back")
    assert op.proc.poll() is None, "the operator exited"


def test_api_server_restart_mid_reconcile_recovers_and_status_catches_up(fault_plane, fault_operator, fault_namespace):
    _restart_mid_reconcile(fault_plane, fault_operator, fault_namespace, "kube-apiserver")


def test_etcd_restart_mid_reconcile_recovers_and_status_catches_up(fault_plane, fault_operator, fault_namespace):
    _restart_mid_reconcile(fault_plane, fault_operator, fault_namespace, "etcd")


def test_child_edited_while_the_watch_is_cut_and_resumed_with_410_is_drift(fault_plane, fault_operator,
                                                                          fault_namespace):
    plane, op = fault_plane, fault_operator
    name = "w"
    apply(plane, light_environment(name), fault_namespace)
    wait_converged(plane, fault_namespace, [name], timeout=120, what="Ready")
    # Frozen, the operator cannot reconnect; the restarted API server's watch cache begins at
    # the newest revision, so its resume from the last revision it saw is answered 410 Gone.
    # The edit is to a ConfigMap: no controller reacts to it with further events that would
    # announce the change after the resume.
    config_map = f"{name}-redis-config"
    os.kill(op.proc.pid, signal.SIGSTOP)
    try:
        plane.restart("kube-apiserver")
        plane.kubectl("patch", "configmap", config_map, "-n", fault_namespace, "--type=merge",
                      "-p", json.dumps({"data": {"edited-during-the-gap": "yes"}}))
    finally:
        os.kill(op.proc.pid, signal.SIGCONT)
    drift = wait_until(
        lambda: [f for f in (env_body(plane, fault_namespace, name).get("status") or {}).get("drift", {})
                 .get("findings", []) if f["level"] == "live"],
        timeout=RECOVERY_SECONDS, what="the edit made during the gap reported as live drift")
    assert any(f["kind"] == "ConfigMap" and f["name"] == config_map for f in drift), drift


def test_status_writes_of_a_competing_field_manager_are_not_lost(fault_plane, fault_operator, fault_namespace, kube):
    """Another writer of the status subresource that does its part right (read, change, write
    with the resourceVersion it read, re-read on 409) must never find its condition gone, and
    the operator's own verdicts must still land."""
    plane = fault_plane
    name = "c"
    apply(plane, light_environment(name), fault_namespace)
    wait_converged(plane, fault_namespace, [name], timeout=120, what="Ready")
    path = resources.ENVIRONMENT.object_path(name, fault_namespace)
    stop = threading.Event()
    record = {"acknowledged": 0, "conflicts": 0, "lost": []}

    def competitor() -> None:
        while not stop.is_set():
            body = kube.get(path)
            status = body.get("status") or {}
            ours = {c["type"]: c for c in status.get("conditions") or []}.get("ExternalAudit")
            if record["acknowledged"] and (ours or {}).get("message") != str(record["acknowledged"]):
                record["lost"].append((record["acknowledged"], (ours or {}).get("message")))
            counter = record["acknowledged"] + 1
            conditions = [c for c in status.get("conditions") or [] if c["type"] != "ExternalAudit"]
            conditions.append({"type": "ExternalAudit", "status": "True", "reason": "Audited",
                               "message": str(counter), "lastTransitionTime": "2026-01-01T00:00:00Z"})
            body["status"] = {**status, "conditions": conditions}
            try:
                kube.request("PUT", path + "/status", body=body, query=[("fieldManager", COMPETITOR)])
                record["acknowledged"] = counter
            except KubeError as err:
                if err.status != 409:
                    raise
                record["conflicts"] += 1
            time.sleep(pause.uniform(0.2, 0.6))

    pause = random.Random(BASE_SEED)  # a controller's pace, not a tight loop
    thread = threading.Thread(target=competitor, daemon=True)
    thread.start()
    try:
        # Make the operator write status again and again: live drift appears and goes.
        for replicas in (2, 1, 2, 1, 2, 1):
            plane.kubectl("scale", "statefulset", f"{name}-redis", "-n", fault_namespace, f"--replicas={replicas}")
            want = replicas != 1
            wait_until(lambda: any(f["level"] == "live" for f in (env_body(plane, fault_namespace, name)
                                   .get("status") or {}).get("drift", {}).get("findings", [])) == want,
                       timeout=RECOVERY_SECONDS, what=f"live drift {'reported' if want else 'resolved'}")
    finally:
        stop.set()
        thread.join(timeout=30)
    print(f"\ncompetitor: {record['acknowledged']} writes acknowledged, {record['conflicts']} conflicts (409)")
    assert record["acknowledged"] > 5
    assert record["lost"] == [], f"acknowledged competitor writes overwritten: {record['lost'][:5]}"
    final = {c["type"]: c for c in env_body(plane, fault_namespace, name)["status"]["conditions"]}
    assert final["ExternalAudit"]["message"] == str(record["acknowledged"])
    assert final["Ready"]["status"] == "True"


def test_baseline_deleted_while_referenced_then_restored(fault_plane, fault_operator, fault_namespace):
    plane = fault_plane
    name, baseline_name = "b", f"fault-{fault_namespace}"
    baseline = kget(plane, "pbl", "production")
    restored = {"apiVersion": baseline["apiVersion"], "kind": baseline["kind"], "metadata": {"name": baseline_name},
                "spec": baseline["spec"]}
    apply(plane, restored)
    try:
        apply(plane, light_environment(name, baseline=baseline_name), fault_namespace)
        wait_converged(plane, fault_namespace, [name], timeout=120, what="Ready")

        def drift():
            return (env_body(plane, fault_namespace, name).get("status") or {}).get("drift") or {}

        known = wait_until(lambda: (d := drift()).get("highestSeverity") not in (None, "unknown") and d,
                           timeout=RECOVERY_SECONDS, what="a known verdict")

        def reasons() -> list[str]:
            # eventTime has microseconds; lastTimestamp only seconds, and the restore's event can
            # land in the same second as the DriftUnknown before it.
            events = parity_events(plane, fault_namespace).get(name, [])
            return [e["reason"] for e in sorted(events, key=lambda e: (e.get("eventTime") or e.get("lastTimestamp") or "",
                                                                       e["metadata"]["creationTimestamp"]))]

        assert reasons() == [constants.EVENT_DRIFT_DETECTED]
        plane.kubectl("delete", "pbl", baseline_name)
        unknown = wait_until(lambda: (d := drift()).get("highestSeverity") == "unknown" and d,
                             timeout=RECOVERY_SECONDS, what="unknown once the baseline is gone")
        assert unknown["levels"]["declared"]["reason"] == "BaselineNotFound"
        assert {c["type"]: c for c in env_body(plane, fault_namespace, name)["status"]["conditions"]}[
            "Drifted"]["status"] == "Unknown"
        wait_until(lambda: reasons() == [constants.EVENT_DRIFT_DETECTED, constants.EVENT_DRIFT_UNKNOWN],
                   timeout=RECOVERY_SECONDS, what="one DriftUnknown event")

        apply(plane, restored)
        back = wait_until(lambda: (d := drift()).get("highestSeverity") not in (None, "unknown") and d,
                          timeout=RECOVERY_SECONDS, what="the verdict back once the baseline is restored")
        assert back["highestSeverity"] == known["highestSeverity"]
        assert back["summary"] == known["summary"]
        assert {c["type"]: c for c in env_body(plane, fault_namespace, name)["status"]["conditions"]}[
            "Drifted"]["status"] == "True"
        wait_until(lambda: reasons() == [constants.EVENT_DRIFT_DETECTED, constants.EVENT_DRIFT_UNKNOWN,
                                         constants.EVENT_DRIFT_DETECTED],
                   timeout=RECOVERY_SECONDS, what="DriftDetected again after the restore", interval=1)
        unknown_events = [e for e in parity_events(plane, fault_namespace)[name]
                          if e["reason"] == constants.EVENT_DRIFT_UNKNOWN]
        assert unknown_events[0]["type"] == "Warning" and baseline_name in unknown_events[0]["message"]
    finally:
        plane.kubectl("delete", "pbl", baseline_name, "--wait=false", check=False)
