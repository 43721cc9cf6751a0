"""`parity logs` on the real node: the logs of etcd, Patroni/PostgreSQL, Redis and Sentinel read
through the pod log API of the real kubelet, merged in time order and filtered.

One environment (the local sample) for the module. Lines with a known trace id are made by the
test itself: a failing SQL statement whose text carries `trace_id=<id>` is logged by PostgreSQL
as an ERROR with that text. A container restart is made by SHUTDOWN on a Redis replica.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import threading
import time

import pytest
import redis
from e2e_support import apply_local_sample, kjson, redis_password
from support import REPO_ROOT, wait_until

ENV = "dev"
PARITY = [sys.executable, "-m", "parity.cli.main"]


@pytest.fixture(scope="module")
def sample(plane, e2e_namespace):
    apply_local_sample(plane, e2e_namespace)
    return plane, e2e_namespace


def parity(plane, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "KUBECONFIG": str(plane.kubeconfig), "NO_COLOR": "1"}
    return subprocess.run([*PARITY, *args], capture_output=True, text=True, timeout=timeout, env=env, cwd=REPO_ROOT)


def json_lines(text: str) -> list[dict]:
    return [json.loads(x) for x in text.splitlines() if x.strip()]


def logs_json(plane, ns: str, *args: str) -> list[dict]:
    proc = parity(plane, "logs", "-n", ns, ENV, "-o", "json", *args)
    assert proc.returncode == 0, proc.stderr
    return json_lines(proc.stdout)


def leader_pod(plane, ns: str) -> str:
    """The Patroni leader, by the role label its callback keeps on the pod."""
    pods = kjson(plane, "get", "pods", "-n", ns, "-l", "parity.dev/role=primary")["items"]
    assert pods, "no pod labelled parity.dev/role=primary"
    return pods[0]["metadata"]["name"]


def log_a_traced_error(plane, ns: str, trace: str) -> None:
    """PostgreSQL logs `ERROR:  invalid input syntax for type integer: "trace_id=<trace>"`.
    psql runs inside the leader's container as the postgres OS user, over the local socket in
    /tmp (peer authentication; render/postgres.py)."""
    pod = leader_pod(plane, ns)
    proc = plane.kubectl("exec", "-n", ns, pod, "-c", "postgres", "--", "psql", "-h", "/tmp", "-U", "postgres",
                         "-d", "postgres", "-c", f"select 'trace_id={trace}'::int", check=False, timeout=60)
    assert "invalid input syntax" in proc.stderr, proc.stderr


def test_lines_of_etcd_postgres_and_redis_are_merged_in_time_order(sample):
    plane, ns = sample
    items = logs_json(plane, ns, "--since", "1h")
    components = {i["component"] for i in items}
    assert {"etcd", "postgres", "redis", "sentinel"} <= components, components
    times = [i["time"] for i in items if i["time"]]
    assert times == sorted(times)
    # Interleaved, not concatenated: the components alternate somewhere in the output.
    switches = sum(1 for a, b in zip(items, items[1:]) if a["component"] != b["component"])
    assert switches >= 3
    sources = {(i["component"], i["pod"], i["container"]) for i in items}
    assert any(c == "postgres" and p.startswith(f"{ENV}-postgres-") for c, p, _ in sources)


def test_text_output_prefixes_every_line_with_its_source(sample):
    plane, ns = sample
    proc = parity(plane, "logs", "-n", ns, ENV, "--tail", "20")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert 0 < len(lines) <= 20
    for text in lines:
        component, pod, container = text.split()[1].split("/")
        assert component in {"etcd", "postgres", "redis", "sentinel", "observability"}
        assert pod.startswith(f"{ENV}-") and container
    assert "\033[" not in proc.stdout  # not a terminal


def test_component_filter(sample):
    plane, ns = sample
    items = logs_json(plane, ns, "--component", "etcd")
    assert items and {i["component"] for i in items} == {"etcd"}
    items = logs_json(plane, ns, "--component", "redis,sentinel")
    assert {i["component"] for i in items} == {"redis", "sentinel"}


def test_grep_and_level_filters(sample):
    plane, ns = sample
    items = logs_json(plane, ns, "--component", "postgres", "--grep", "leader|lock")
    assert items and all(("leader" in i["message"]) or ("lock" in i["message"]) for i in items)
    # Redis logs its startup warnings with `#` (e.g. "Server initialized", memory overcommit).
    items = logs_json(plane, ns, "--component", "redis", "--level", "warning")
    assert items and {i["level"] for i in items} <= {"warning", "error"}


def test_trace_filter_finds_the_traced_postgres_error(sample):
    plane, ns = sample
    trace = secrets.token_hex(16)
    log_a_traced_error(plane, ns, trace)

    def found():
        items = logs_json(plane, ns, "--trace", trace, "--since", "10m")
        return items or None

    items = wait_until(found, timeout=60, interval=2, what=f"the line with trace id {trace}")
    assert {i["component"] for i in items} == {"postgres"}
    assert all(trace in i["message"] for i in items)
    errors = logs_json(plane, ns, "--component", "postgres", "--level", "error", "--since", "10m")
    assert any(trace in i["message"] for i in errors)


def test_follow_shows_new_lines_and_a_restarted_container_then_previous(sample):
    plane, ns = sample
    env = {**os.environ, "KUBECONFIG": str(plane.kubeconfig), "NO_COLOR": "1"}
    follower = subprocess.Popen([*PARITY, "logs", "-n", ns, ENV, "-o", "json", "--follow", "--tail", "0",
                                 "--component", "redis,postgres"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO_ROOT)
    seen: list[dict] = []
    complaints: list[str] = []

    def read():
        for text in follower.stdout:
            seen.append(json.loads(text))

    def read_stderr():
        complaints.extend(follower.stderr)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    threading.Thread(target=read_stderr, daemon=True).start()
    try:
        time.sleep(3)  # let the streams open before making lines (not an assertion)
        trace = secrets.token_hex(16)
        log_a_traced_error(plane, ns, trace)
        wait_until(lambda: any(trace in i["message"] for i in seen), timeout=60, interval=1,
                   what="the traced error while following")
        # Restart a Redis replica's container: its new instance is picked up while following.
        pods = kjson(plane, "get", "pods", "-n", ns, "-l", "app.kubernetes.io/name=redis")["items"]
        replica = None
        password = redis_password(plane, ns)
        for p in pods:
            host = f"{p['metadata']['name']}.{ENV}-redis-headless.{ns}.svc"
            try:
                if redis.Redis(host=host, port=6379, socket_timeout=5, password=password).info("replication")["role"] == "slave":
                    replica = p
                    break
            except redis.RedisError:
                continue
        assert replica is not None, "no Redis replica answered"
        name = replica["metadata"]["name"]
        before = sum(s.get("restartCount", 0) for s in replica["status"]["containerStatuses"])
        # Marked before the shutdown: the new instance's first lines can be followed before the
        # pod's status shows the restart (the old instance said "Ready" before following began).
        mark = len(seen)
        try:
            redis.Redis(host=f"{name}.{ENV}-redis-headless.{ns}.svc", port=6379, socket_timeout=5,
                        password=password).shutdown(nosave=True)
        except redis.ConnectionError:
            pass  # the server closes the connection as it exits
        wait_until(lambda: sum(s.get("restartCount", 0) for s in kjson(plane, "get", "pod", name, "-n", ns)
                               ["status"]["containerStatuses"]) > before,
                   timeout=120, interval=2, what=f"{name} restarted")
        try:
            wait_until(lambda: any(i["pod"] == name and "Ready to accept connections" in i["message"]
                                   for i in seen[mark:]), timeout=120, interval=1,
                       what=f"the restarted {name} logging while followed")
        except AssertionError as err:
            followed = [f"{i['time']} {i['container']}: {i['message']}" for i in seen[mark:] if i["pod"] == name]
            raise AssertionError(f"{err}\nlines of {name} followed since the shutdown: {followed}\n"
                                 f"the follower's stderr: {complaints}") from None
    finally:
        follower.terminate()
        follower.wait(timeout=30)
    # Followed lines are released in time order after a 1 s hold-back window; a line whose stream
    # delivered it later than that (the node under load) comes out late, never by much.
    from datetime import datetime
    times = [datetime.fromisoformat(i["time"].replace("Z", "+00:00")) for i in seen if i["time"]]
    latest, worst = None, 0.0
    for t in times:
        if latest is not None and t < latest:
            worst = max(worst, (latest - t).total_seconds())
        latest = t if latest is None or t > latest else latest
    assert worst <= 5.0, f"a followed line came out {worst:.1f} s behind one already shown"
    previous = logs_json(plane, ns, "--previous", "--component", "redis")
    assert any(i["pod"] == name for i in previous)
    assert any("shutdown" in i["message"].lower() or "exit" in i["message"].lower() for i in previous
               if i["pod"] == name)


def test_bad_input_is_one_line_and_exit_one(sample):
    plane, ns = sample
    for args, fragment in (
        (["-n", ns, "no-such-env"], "not found"),
        (["-n", ns, ENV, "--component", "mysql"], "--component"),
        (["-n", ns, ENV, "--grep", "("], "--grep"),
    ):
        proc = parity(plane, "logs", *args)
        assert proc.returncode == 1 and proc.stdout == ""
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and fragment in lines[0], proc.stderr


def make(plane, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "ENV"}
    env.update(KUBECONFIG=str(plane.kubeconfig), NO_COLOR="1")
    return subprocess.run(["make", "--no-print-directory", "-C", str(REPO_ROOT), f"PARITY={' '.join(PARITY)}", *args],
                          capture_output=True, text=True, timeout=timeout, env=env)


def test_make_aggregate_logs_and_inspect_targets_on_the_node(sample):
    plane, ns = sample
    proc = make(plane, "aggregate-logs", f"NS={ns}", "SERVICE=postgres", "FILTER=leader|lock", "SINCE=1h")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines and all(line.split()[1].startswith("postgres/") for line in lines)
    assert all(("leader" in line) or ("lock" in line) for line in lines)
    for target in ("inspect-cluster", "inspect-etcd", "inspect-patroni", "inspect-redis"):
        proc = make(plane, target, f"NS={ns}")
        assert proc.returncode == 0, (target, proc.stdout, proc.stderr)
        assert "leader" in proc.stdout or "primary" in proc.stdout, (target, proc.stdout)
