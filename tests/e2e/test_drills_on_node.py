"""`parity drill`, `parity inspect` and `parity chaos` against the environment the operator deployed
on the real node (one environment for the module: provisioning it is the slow part). Drills kill
the real primary (pod deleted, or its container SIGKILLed) while writes go through the primary
Service, and report how long no primary took writes and how many acknowledged writes were lost;
chaos experiments inject a fault through the node, heal it, and check their invariants.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess

import psycopg
import pytest
from e2e_support import ReplicationTimeline, apply_local_sample, kjson, redis_password
from support import REPO_ROOT

ENV = "dev"
# The local sample's Patroni timing (manifests/samples/dev.yaml) and Sentinel's down-after and
# failover-timeout.
TTL, LOOP_WAIT, DOWN_AFTER_SECONDS, FAILOVER_TIMEOUT_SECONDS = 30, 10, 5, 60


@pytest.fixture(scope="module")
def env(plane, e2e_namespace):
    apply_local_sample(plane, e2e_namespace)
    return plane, e2e_namespace


def parity(plane, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    # PARITY_STATE_DIR: where `--kill process` finds this node's containerd socket and ctr.
    return subprocess.run([str(REPO_ROOT / ".venv" / "bin" / "parity"), *args], capture_output=True, text=True,
                          env={**os.environ, **plane.env(), "PARITY_STATE_DIR": str(plane.state_dir)},
                          timeout=timeout)


def drill(plane, ns: str, kind: str, *extra: str) -> dict:
    proc = parity(plane, "drill", kind, "-n", ns, ENV, "-o", "json", "--settle", "3", *extra)
    assert proc.stdout.strip(), proc.stderr
    report = json.loads(proc.stdout)
    assert proc.returncode == (0 if report["passed"] else 1)
    return report


def primary_service_address(plane, ns: str) -> str:
    data = kjson(plane, "get", "secret", f"{ENV}-postgres-credentials", "-n", ns)["data"]
    password = base64.b64decode(data["superuser-password"]).decode()
    with psycopg.connect(host=f"{ENV}-postgres-primary.{ns}.svc", user="postgres", password=password,
                         dbname="postgres", connect_timeout=5) as conn:
        return conn.execute("SELECT host(inet_server_addr())").fetchone()[0]


def test_inspect_shows_the_running_topology(env):
    plane, ns = env
    seen = {}

    def complete():
        # Ready means every pod is ready; the synchronous standby and the Sentinels' view of
        # each other may still be settling, so the full topology is awaited, bounded.
        proc = parity(plane, "inspect", "-n", ns, "all", ENV, "-o", "json", timeout=120)
        seen["proc"] = proc
        if proc.returncode != 0:
            return None
        results = {r["component"]: r for r in json.loads(proc.stdout)}
        members = results["postgres"]["details"]["members"]
        done = (any(m["role"] == "sync_standby" for m in members) and len(members) == 3
                and len(results["redis"]["details"]["sentinels"]) == 3)
        return results if done else None

    from support import wait_until
    try:
        results = wait_until(complete, timeout=90, interval=5, what="inspect to show the whole topology")
    except AssertionError as err:
        proc = seen.get("proc")
        raise AssertionError(f"{err}; last: rc={proc and proc.returncode} stderr={proc and proc.stderr[-1500:]} "
                             f"stdout={proc and proc.stdout[-3000:]}") from None
    patroni = results["postgres"]["details"]
    assert patroni["leader"] and len(patroni["members"]) == 3
    assert any(m["role"] == "sync_standby" for m in patroni["members"])
    assert all(m["lagBytes"] is not None for m in patroni["members"] if m["name"] != patroni["leader"])
    assert patroni["timeline"] >= 1
    redis_details = results["redis"]["details"]
    assert redis_details["primary"] and len(redis_details["sentinels"]) == 3
    assert results["etcd"]["values"]["etcd.replicas"] == 3


def test_patroni_failover_by_pod_delete_loses_no_acknowledged_write(env):
    plane, ns = env
    report = drill(plane, ns, "failover", "--kill", "pod")
    assert report["passed"] and report["synchronous"] and report["zero_loss_required"], report
    assert report["lost_acked_writes"] == 0 and report["acked_after_kill"] > 0, report
    assert report["new_leader"] != report["old_leader"], report
    assert report["unavailable_seconds"] <= TTL + LOOP_WAIT + 5, report
    leader_ip = kjson(plane, "get", "pod", report["new_leader"], "-n", ns)["status"]["podIP"]
    assert primary_service_address(plane, ns) == leader_ip


def test_patroni_drill_by_process_kill_loses_no_acknowledged_write(env):
    """The leader's container is SIGKILLed through containerd; the pod stays and the kubelet
    restarts it. Patroni may hand over to the sync standby or, if the member is back before its
    leader key expires, keep it: either way nothing acknowledged is lost and the primary Service
    follows whoever leads."""
    plane, ns = env
    pods = {p["metadata"]["name"]: p for p in kjson(plane, "get", "pods", "-n", ns, "-l",
                                                       "app.kubernetes.io/component=postgres")["items"]}
    report = drill(plane, ns, "failover", "--kill", "process")
    assert report["passed"] and report["synchronous"], report
    assert report["lost_acked_writes"] == 0 and report["acked_after_kill"] > 0, report
    assert report["killed"].startswith("SIGKILL every process of container postgres"), report
    old = kjson(plane, "get", "pod", report["old_leader"], "-n", ns)
    assert old["metadata"]["uid"] == pods[report["old_leader"]]["metadata"]["uid"]  # the same pod: not deleted
    restarts = {c["name"]: c["restartCount"] for c in old["status"]["containerStatuses"]}
    before = {c["name"]: c["restartCount"] for c in pods[report["old_leader"]]["status"]["containerStatuses"]}
    assert restarts["postgres"] >= before["postgres"] + 1
    assert report["same_leader_returned"] == (report["new_leader"] == report["old_leader"])
    leader_ip = kjson(plane, "get", "pod", report["new_leader"], "-n", ns)["status"]["podIP"]
    assert primary_service_address(plane, ns) == leader_ip


def test_redis_failover_by_pod_delete(env):
    """The Sentinels fail over within down-after + 5 s, unless their events show a round that
    failed (a split vote, no fit replica) or a TILT: Sentinel then waits 2 × failover-timeout
    before the next round, and so does the drill (its default wait is that bound)."""
    plane, ns = env
    report = drill(plane, ns, "redis-failover", "--kill", "pod")
    events = "\n".join(report["events"])
    assert report["error"] is None, f"{report['error']}\nSentinel events:\n{events}"
    assert report["failover_wait_seconds"] == DOWN_AFTER_SECONDS + 2 * FAILOVER_TIMEOUT_SECONDS + 10, report
    assert report["lost_acked_writes"] == 0 and report["acked_after_kill"] > 0, report
    assert report["new_leader"] != report["old_leader"], report
    assert any("+switch-master" in e for e in report["events"]), events
    setback = any("-failover-abort" in e or "+tilt" in e for e in report["events"])
    bound = DOWN_AFTER_SECONDS + (2 * FAILOVER_TIMEOUT_SECONDS + 10 if setback else 5)
    assert report["unavailable_seconds"] <= bound, f"{report['unavailable_seconds']} s > {bound} s\n{events}"


def test_redis_rolling_restart_under_writes_loses_no_acknowledged_write(env):
    """Replacing every Redis pod (a pod template change rolls the StatefulSet) while a client
    writes through the Sentinels: a primary that comes back empty must not become primary, and
    the roll must not stop a primary while a replica lacks its writes (a replica is ready only
    once its link is up)."""
    import threading
    import time

    from redis.sentinel import Sentinel

    plane, ns = env
    password = redis_password(plane, ns)
    sentinel = Sentinel([(f"{ENV}-sentinel-{i}.{ENV}-sentinel-headless.{ns}.svc", 26379) for i in range(3)],
                        socket_timeout=2, password=password, sentinel_kwargs={"socket_timeout": 2, "password": password})
    acked: list[int] = []
    stop = threading.Event()

    def write():
        seq = 0
        while not stop.is_set():
            seq += 1
            try:
                sentinel.master_for("mymaster", socket_timeout=2).rpush("roll_writes", seq)
                acked.append(seq)
            except Exception:  # noqa: BLE001 - not acknowledged: allowed to be missing
                time.sleep(0.2)
            time.sleep(0.02)

    before = {p["metadata"]["name"]: p["metadata"]["uid"]
              for p in kjson(plane, "get", "pods", "-n", ns, "-l", "app.kubernetes.io/name=redis")["items"]}
    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    hosts = [f"{ENV}-redis-{i}.{ENV}-redis-headless.{ns}.svc" for i in range(3)]
    with ReplicationTimeline(hosts, password) as timeline:
        try:
            resources = {"requests": {"cpu": "60m", "memory": "64Mi"}}
            plane.kubectl("patch", "penv", ENV, "-n", ns, "--type=merge", "-p",
                          json.dumps({"spec": {"redis": {"resources": resources}}}))

            def rolled():
                pods = kjson(plane, "get", "pods", "-n", ns, "-l", "app.kubernetes.io/name=redis")["items"]
                replaced = all(before.get(p["metadata"]["name"]) != p["metadata"]["uid"] for p in pods)
                ready = all(all(c["ready"] for c in p["status"].get("containerStatuses") or [{"ready": False}])
                            for p in pods)
                return len(pods) == 3 and replaced and ready

            from support import wait_until
            wait_until(rolled, timeout=420, interval=3, what="every Redis pod replaced and ready")
            time.sleep(3)
        finally:
            stop.set()
            writer.join(timeout=30)
    assert len(acked) > 50, "the writer made no progress"
    stored = {int(v) for v in sentinel.master_for("mymaster", socket_timeout=5).lrange("roll_writes", 0, -1)}
    lost = [s for s in acked if s not in stored]
    assert not lost, (f"{len(lost)} of {len(acked)} acknowledged writes lost in the roll, first: {lost[:10]}; "
                      f"the Sentinels' failover events:\n{sentinel_failover_events(plane, ns)}\n"
                      f"the members' replication, sampled each second:\n" + "\n".join(timeline.lines[-90:]))


def sentinel_failover_events(plane, ns: str) -> str:
    """What each Sentinel logged about failovers (who was elected, what it promoted, in which
    epoch): the evidence of two failovers racing."""
    marks = ("+sdown", "-sdown", "+odown", "+new-epoch", "+try-failover", "+elected-leader", "+selected-slave",
             "+promoted-slave", "+switch-master", "+convert-to-slave", "+slave-reconf-sent", "+fix-slave-config",
             "-failover-abort")
    lines = []
    for i in range(3):
        proc = plane.kubectl("logs", f"{ENV}-sentinel-{i}", "-n", ns, check=False)
        lines += [f"sentinel-{i}: {line}" for line in proc.stdout.splitlines()
                  if any(m in line for m in marks) and "mymaster" in line]
    return "\n".join(lines[-60:])


# ---- parity chaos: faults injected through the node, invariants checked (same environment) ----


def chaos(plane, ns: str, experiment: str, seed: int, duration: float) -> dict:
    proc = subprocess.run(
        [str(REPO_ROOT / ".venv" / "bin" / "parity"), "chaos", "run", experiment, "-n", ns, ENV,
         "--seed", str(seed), "--duration", str(duration), "-o", "json"],
        capture_output=True, text=True, timeout=900,
        env={**os.environ, **plane.env(), "PARITY_STATE_DIR": str(plane.state_dir)})
    assert proc.stdout.strip(), proc.stderr
    report = json.loads(proc.stdout)
    held = all(i["held"] for i in report["invariants"])
    assert proc.returncode == (0 if held and report["invariants"] else 1), proc.stderr
    assert report["experiment"] == experiment and report["seed"] == seed
    return report


def invariants(report: dict) -> dict[str, dict]:
    return {i["name"]: i for i in report["invariants"]}


def test_redis_freeze_fails_over_and_the_old_master_rejoins(env):
    plane, ns = env
    report = chaos(plane, ns, "redis-freeze", seed=11, duration=10)
    found = invariants(report)
    assert found["sentinel failed over"]["held"], report
    assert found["the thawed master rejoined as a replica"]["held"], report
    assert report["figures"]["acked_writes"] > 0


def test_patroni_partition_has_no_split_brain_and_loses_nothing(env):
    plane, ns = env
    report = chaos(plane, ns, "patroni-partition", seed=12, duration=10)
    found = invariants(report)
    assert all(i["held"] for i in report["invariants"]), report
    assert found["never more than one writable primary"]["held"]
    assert found["no acknowledged write lost (synchronous mode)"]["held"]
    assert report["figures"]["acked_writes_lost"] == 0 and report["figures"]["writable_samples"] > 10


def test_etcd_member_loss_keeps_or_demotes_per_failsafe_mode_and_recovers(env):
    plane, ns = env
    report = chaos(plane, ns, "etcd-member-loss", seed=13, duration=20)
    assert all(i["held"] for i in report["invariants"]), report
    names = set(invariants(report))
    assert "writes go on with one etcd member stopped" in names
    assert any(n.startswith("quorum lost") for n in names)
    assert "after the restore: a leader, and writes accepted" in names
