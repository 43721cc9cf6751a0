"""The local sample on the real node: every process runs, every claim is read from it.

One environment for the whole module (a full topology takes minutes to start on 2 cores);
each test reads one aspect of it. Names in the cluster domain resolve from this process through
the node's DNS (PARITY_CLUSTER_DNS, installed by the session fixture).
"""

from __future__ import annotations

import base64
import json
import subprocess
import time

import httpx
import psycopg
import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from parity.render import dashboards
from e2e_support import apply_local_sample, kjson
from support import wait_until

ENV = "dev"


@pytest.fixture(scope="module")
def sample(plane, e2e_namespace):
    body = apply_local_sample(plane, e2e_namespace)
    return plane, e2e_namespace, body


def svc(name: str, ns: str) -> str:
    return f"{name}.{ns}.svc"


def pods(plane, ns: str, app: str) -> list[dict]:
    return kjson(plane, "get", "pods", "-n", ns, "-l", f"app.kubernetes.io/name={app}")["items"]


def secret_value(plane, ns: str, key: str) -> str:
    data = kjson(plane, "get", "secret", f"{ENV}-postgres-credentials", "-n", ns)["data"]
    return base64.b64decode(data[key]).decode()


def patroni_cluster(ns: str) -> dict:
    last = None
    for i in range(3):
        try:
            return httpx.get(f"http://{ENV}-postgres-{i}.{ENV}-postgres.{ns}.svc:8008/cluster", timeout=5).json()
        except httpx.HTTPError as err:
            last = err
    raise AssertionError(f"no Patroni member answered: {last}")


def test_every_pod_runs_on_the_real_node(sample):
    plane, ns, body = sample
    assert body["status"]["phase"] == "Ready"
    node = json.loads(plane.kubectl("get", "nodes", "-l", "parity.dev/node=real", "-o", "json").stdout)["items"]
    assert len(node) == 1
    node_name = node[0]["metadata"]["name"]
    items = kjson(plane, "get", "pods", "-n", ns)["items"]
    assert len(items) >= 3 + 3 + 3 + 3  # etcd, postgres, redis, sentinel at least
    for pod in items:
        assert pod["spec"]["nodeName"] == node_name, pod["metadata"]["name"]
        assert pod["status"]["phase"] == "Running", pod["metadata"]["name"]
        assert all(c["ready"] for c in pod["status"]["containerStatuses"]), pod["metadata"]["name"]


def test_the_namespace_enforces_restricted_and_every_process_runs_unprivileged(sample):
    plane, ns, _ = sample
    labels = kjson(plane, "get", "namespace", ns)["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    plain = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "plain", "namespace": ns},
             "spec": {"containers": [{"name": "c", "image": "parity.local/pause:3.10"}]}}
    refused = plane.kubectl("create", "--dry-run=server", "-f", "-", input=json.dumps(plain), check=False)
    assert refused.returncode != 0 and "PodSecurity" in refused.stderr, refused.stderr
    items = kjson(plane, "get", "pods", "-n", ns)["items"]
    assert len(items) >= 12
    for pod in items:
        name = pod["metadata"]["name"]
        status = plane.kubectl("exec", "-n", ns, name, "--", "cat", "/proc/1/status").stdout
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        # Real, effective, saved and filesystem uid; no capability; no privilege gain; seccomp filter.
        assert all(uid != "0" for uid in fields["Uid"].split()), (name, fields["Uid"])
        assert int(fields["CapEff"].strip(), 16) == 0, (name, fields["CapEff"])
        assert fields["NoNewPrivs"].strip() == "1" and fields["Seccomp"].strip() == "2", name


def test_etcd_has_a_healthy_three_member_quorum(sample):
    _, ns, _ = sample
    base = f"http://{ENV}-etcd-0.{ENV}-etcd-peer.{ns}.svc:2379"
    members = httpx.post(f"{base}/v3/cluster/member/list", json={}, timeout=5).json()["members"]
    assert len(members) == 3
    for member in members:
        url = member["clientURLs"][0]
        assert httpx.get(f"{url}/health", timeout=5).json()["health"] == "true"
    version = httpx.get(f"{base}/version", timeout=5).json()
    assert version["etcdserver"] == "3.5.17"


def test_patroni_has_one_leader_and_two_streaming_replicas_one_synchronous(sample):
    _, ns, _ = sample

    def settled():
        members = patroni_cluster(ns)["members"]
        roles = sorted(m["role"] for m in members)
        streaming = [m for m in members if m["role"] != "leader" and m.get("state") == "streaming"]
        return members if roles == ["leader", "replica", "sync_standby"] and len(streaming) == 2 else None

    members = wait_until(settled, timeout=180, interval=3, what="one leader, one sync standby, one replica")
    leader = next(m for m in members if m["role"] == "leader")
    assert leader["state"] == "running"


def test_patroni_refuses_unsafe_rest_calls_without_the_credentials(sample):
    plane, ns, _ = sample
    url = f"http://{ENV}-postgres-0.{ENV}-postgres.{ns}.svc:8008"
    # Reads stay open (health checks, the operator's probes); changes need the Secret's credentials.
    assert httpx.get(f"{url}/config", timeout=10).status_code == 200
    for auth in (None, ("patroni", "not-the-password")):
        resp = httpx.patch(f"{url}/config", json={"ttl": 31}, timeout=10, auth=auth)
        assert resp.status_code == 401, resp.text
    assert httpx.get(f"{url}/config", timeout=10).json()["ttl"] != 31
    auth = (secret_value(plane, ns, "patroni-rest-username"), secret_value(plane, ns, "patroni-rest-password"))
    same = httpx.get(f"{url}/config", timeout=10).json()["ttl"]
    assert httpx.patch(f"{url}/config", json={"ttl": same}, timeout=10, auth=auth).status_code == 200


PATCH_CONFIG = """
import sys, urllib.error, urllib.request
request = urllib.request.Request(sys.argv[1] + "/config", data=b'{"ttl": 31}', method="PATCH",
                                 headers={"Content-Type": "application/json"})
try:
    print("status", urllib.request.urlopen(request, timeout=10).status)
except urllib.error.HTTPError as err:
    print("status", err.code)
"""


def test_a_pod_of_another_namespace_without_the_credentials_changes_nothing(sample):
    plane, ns, _ = sample
    other = f"{ns[:50]}-other"
    plane.kubectl("create", "namespace", other)

    def image(pod: str) -> str:
        return kjson(plane, "get", "pod", pod, "-n", ns)["spec"]["containers"][0]["image"]

    def run(name: str, image_ref: str, *command: str) -> str:
        # Its output from the pod's log once it has ended: `kubectl run -i` attaches after the pod
        # starts, and a command that ends first leaves the attached stream empty (seen in CI).
        plane.kubectl("run", name, "-n", other, "--restart=Never", "--image", image_ref,
                      "--image-pull-policy=Never", "--command", "--", *command)
        wait_until(lambda: kjson(plane, "get", "pod", name, "-n", other)["status"].get("phase")
                   in ("Succeeded", "Failed"), timeout=180, interval=1, what=f"pod {name} to end")
        proc = plane.kubectl("logs", name, "-n", other, check=False)
        plane.kubectl("delete", "pod", name, "-n", other, "--wait=false", check=False)
        return proc.stdout + proc.stderr

    try:
        redis_host = f"{ENV}-redis-0.{ENV}-redis-headless.{ns}.svc"
        said = run("redis-client", image(f"{ENV}-redis-0"), "redis-cli", "-h", redis_host, "CONFIG", "SET", "dir", "/tmp")
        assert "NOAUTH" in said, said
        said = run("patroni-client", image(f"{ENV}-postgres-0"), "python3", "-c", PATCH_CONFIG,
                   f"http://{ENV}-postgres-0.{ENV}-postgres.{ns}.svc:8008")
        assert "status 401" in said, said
        assert httpx.get(
            f"http://{ENV}-postgres-0.{ENV}-postgres.{ns}.svc:8008/config", timeout=10).json()["ttl"] != 31
    finally:
        plane.kubectl("delete", "namespace", other, "--wait=false", check=False)


def test_redis_and_sentinel_refuse_a_client_without_the_password(sample):
    plane, ns, _ = sample
    for host, port in [(f"{ENV}-redis-{i}.{ENV}-redis-headless.{ns}.svc", 6379) for i in range(3)] + \
                      [(f"{ENV}-sentinel-{i}.{ENV}-sentinel-headless.{ns}.svc", 26379) for i in range(3)]:
        # No retries: an authentication error is a ConnectionError to redis-py, which retries those.
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(host=host, port=port, socket_timeout=5, retry=Retry(NoBackoff(), 0)).execute_command(
                "CONFIG", "SET", "dir", "/tmp")
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(host=host, port=port, socket_timeout=5, password="not-the-password",
                        retry=Retry(NoBackoff(), 0)).ping()
        assert redis.Redis(host=host, port=port, socket_timeout=5, password=secret_value(plane, ns, "redis-password")).ping()


def test_redis_has_one_master_two_replicas_and_sentinels_agree(sample):
    plane, ns, _ = sample
    password = secret_value(plane, ns, "redis-password")
    masters = []
    for i in range(3):
        info = redis.Redis(host=f"{ENV}-sentinel-{i}.{ENV}-sentinel-headless.{ns}.svc", port=26379,
                           socket_timeout=5, password=password).execute_command("SENTINEL", "get-master-addr-by-name", "mymaster")
        masters.append(info[0].decode() if isinstance(info[0], bytes) else info[0])
    assert len(set(masters)) == 1, masters
    primary = redis.Redis(host=masters[0], port=6379, socket_timeout=5, password=password)

    def two_replicas():
        info = primary.info("replication")
        return info if info["role"] == "master" and info["connected_slaves"] == 2 else None

    wait_until(two_replicas, timeout=120, interval=2, what="the Redis master with 2 connected replicas")


# The operator's own scrape target points at its in-cluster Service; on the real node the
# operator runs on the host, so that one target is down by design (docs/quickstart.md).
ENVIRONMENT_JOBS = {"etcd", "patroni", "postgres-exporter", "redis", "sentinel", "redis-exporter", "prometheus"}


def test_prometheus_scrapes_every_target_of_the_environment(sample):
    _, ns, _ = sample

    def all_up():
        targets = httpx.get(f"http://{svc(f'{ENV}-prometheus', ns)}:9090/api/v1/targets", timeout=5).json()
        active = [t for t in targets["data"]["activeTargets"] if t["labels"]["job"] in ENVIRONMENT_JOBS]
        jobs = {t["labels"]["job"] for t in active}
        return active if jobs == ENVIRONMENT_JOBS and all(t["health"] == "up" for t in active) else None

    active = wait_until(all_up, timeout=180, interval=5, what="every environment target up in Prometheus")
    assert len([t for t in active if t["labels"]["job"] == "etcd"]) == 3


def test_every_service_dashboard_panel_draws_data_from_the_live_prometheus(sample):
    """The PostgreSQL/Patroni, Redis/Sentinel and etcd dashboards, query by query, against this
    environment's Prometheus. (The Parity dashboard reads the operator's metrics, whose in-cluster
    target is down here by design: see ENVIRONMENT_JOBS.)"""
    _, ns, _ = sample
    queries = {where: q for where, q in dashboards.shipped_queries().items()
               if where.startswith("dashboard ") and not where.startswith("dashboard parity:")}
    assert len(queries) >= 20

    def empty_panels():
        empty = []
        for where, query in queries.items():
            answer = httpx.get(f"http://{svc(f'{ENV}-prometheus', ns)}:9090/api/v1/query",
                               params={"query": query}, timeout=10).json()
            assert answer["status"] == "success", (where, answer)
            if not answer["data"]["result"]:
                empty.append(where)
        return empty

    # rate() over [5m] needs two scrapes of each target first.
    left = empty_panels()
    deadline = time.monotonic() + 240
    while left and time.monotonic() < deadline:
        time.sleep(10)
        left = empty_panels()
    assert left == [], f"panels without data after 4 min: {left}"


def test_psql_inside_the_primary_with_the_app_role_from_the_secret(sample):
    plane, ns, _ = sample
    leader = next(m["name"] for m in patroni_cluster(ns)["members"] if m["role"] == "leader")
    password = secret_value(plane, ns, "app-password")
    # The password goes in on stdin, never on a command line.
    proc = subprocess.run(
        [plane.binary("kubectl"), "--kubeconfig", str(plane.kubeconfig), "exec", "-i", "-n", ns, leader, "--",
         "sh", "-c", 'read -r p; PGPASSWORD="$p" psql -h 127.0.0.1 -U app -d app -tAc "select current_user"'],
        input=password + "\n", capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "app"


def test_the_exporters_role_reads_statistics_and_is_not_a_superuser(sample):
    plane, ns, _ = sample
    password = secret_value(plane, ns, "monitor-password")
    with psycopg.connect(host=svc(f"{ENV}-postgres-primary", ns), port=5432, user="monitor", dbname="postgres",
                         password=password, connect_timeout=5) as conn:
        superuser, monitor = conn.execute(
            "SELECT rolsuper, pg_has_role(current_user, 'pg_monitor', 'member') FROM pg_roles "
            "WHERE rolname = current_user").fetchone()
        assert (superuser, monitor) == (False, True)
        # What pg_monitor is for: every session's activity, not only its own.
        assert conn.execute("SELECT count(*) FROM pg_stat_activity WHERE query IS NOT NULL").fetchone()[0] >= 1
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE ROLE intruder SUPERUSER")
    env = {e["name"]: e for e in kjson(plane, "get", "deploy", f"{ENV}-postgres-exporter", "-n", ns)["spec"]["template"][
        "spec"]["containers"][0]["env"]}
    assert env["DATA_SOURCE_USER"]["valueFrom"]["secretKeyRef"]["key"] == "monitor-username"


def test_kubectl_logs_shows_patroni(sample):
    plane, ns, _ = sample
    logs = plane.kubectl("logs", "-n", ns, f"{ENV}-postgres-0", "--tail=200").stdout
    assert "patroni" in logs.lower() or "leader" in logs.lower(), logs[-500:]


def test_primary_service_routes_to_the_leader_and_follows_a_switchover(sample):
    plane, ns, _ = sample
    password = secret_value(plane, ns, "superuser-password")

    def primary_address() -> tuple[str, bool]:
        with psycopg.connect(host=svc(f"{ENV}-postgres-primary", ns), port=5432, user="postgres", dbname="postgres",
                             password=password, connect_timeout=5) as conn:
            row = conn.execute("select host(inet_server_addr()), pg_is_in_recovery()").fetchone()
        return row[0], row[1]

    def pod_ip(name: str) -> str:
        return kjson(plane, "get", "pod", name, "-n", ns)["status"]["podIP"]

    def routed() -> tuple[str, bool] | None:
        try:
            return primary_address()
        except psycopg.OperationalError:
            return None  # kube-proxy has not programmed the Service's endpoint yet

    members = patroni_cluster(ns)["members"]
    leader = next(m["name"] for m in members if m["role"] == "leader")
    address, in_recovery = wait_until(routed, timeout=60, interval=2, what="the primary Service to answer")
    assert (address, in_recovery) == (pod_ip(leader), False)

    candidate = next(m["name"] for m in members if m["role"] == "sync_standby")
    auth = (secret_value(plane, ns, "patroni-rest-username"), secret_value(plane, ns, "patroni-rest-password"))
    resp = httpx.post(f"http://{ENV}-postgres-0.{ENV}-postgres.{ns}.svc:8008/switchover",
                      json={"leader": leader, "candidate": candidate}, timeout=60, auth=auth)
    assert resp.status_code == 200, resp.text

    def follows():
        try:
            address, in_recovery = primary_address()
        except psycopg.OperationalError:
            return None
        return address == pod_ip(candidate) and not in_recovery

    wait_until(follows, timeout=120, interval=2, what=f"the primary Service to route to {candidate}")


def test_status_carries_runtime_results_read_from_the_running_services(sample):
    plane, ns, _ = sample

    def runtime_ran():
        status = kjson(plane, "get", "penv", ENV, "-n", ns).get("status") or {}
        drift = status.get("drift") or {}
        levels = drift.get("levels") or {}
        runtime = levels.get("runtime") or {}
        findings = drift.get("findings") or []
        probe_errors = [f for f in findings if f.get("level") == "runtime" and "not reachable" in str(f)]
        return drift if runtime.get("state") == "ran" and not probe_errors else None

    drift = wait_until(runtime_ran, timeout=120, interval=3, what="a runtime level that ran against the services")
    # The local images carry PostgreSQL 17, production 16: the verdict says so, from the spec and
    # from what the running server reports.
    paths = {(f.get("level"), f.get("path")) for f in drift.get("findings") or []}
    assert ("declared", "postgres.version") in paths
