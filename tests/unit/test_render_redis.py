"""Redis standalone and Redis + Sentinel."""

from __future__ import annotations

import json
from pathlib import Path

from parity.api import parse_environment
from parity.api.models import EnvironmentSpec
from parity.render import build_children

ENV, NS, UID = "dev", "team-a", "uid-1"


def redis_objects(raw_redis: dict | None = None) -> dict[tuple[str, str], dict]:
    spec = EnvironmentSpec.model_validate({"redis": raw_redis or {}})
    return {(o["kind"], o["metadata"]["name"]): o for o in build_children(ENV, NS, UID, spec)
            if o["metadata"]["labels"]["app.kubernetes.io/component"] == "redis"}


def container(obj: dict) -> dict:
    return obj["spec"]["template"]["spec"]["containers"][0]


def test_standalone_is_exactly_one_server_without_sentinels():
    objs = redis_objects({"mode": "standalone", "replicas": 5})
    assert set(objs) == {
        ("ConfigMap", "dev-redis-config"),
        ("Service", "dev-redis-headless"),
        ("Service", "dev-redis"),
        ("StatefulSet", "dev-redis"),
        ("PodDisruptionBudget", "dev-redis"),
        ("NetworkPolicy", "dev-redis"),
    }
    sts = objs[("StatefulSet", "dev-redis")]
    assert sts["spec"]["replicas"] == 1
    command = container(sts)["command"]
    # Runs from a writable copy of the rendered file, so CONFIG REWRITE can persist live changes.
    assert command[:2] == ["sh", "-c"] and command[2].endswith("exec redis-server /data/conf/redis.conf")
    assert "cp /etc/parity/redis/redis.conf /data/conf/redis.conf" in command[2]
    assert "start-redis.sh" not in objs[("ConfigMap", "dev-redis-config")]["data"]


def test_sentinel_mode_creates_redis_and_sentinel_sets_and_services():
    objs = redis_objects({"mode": "sentinel", "replicas": 3, "sentinel": {"replicas": 5}})
    assert set(objs) == {
        ("ConfigMap", "dev-redis-config"),
        ("ConfigMap", "dev-sentinel-config"),
        ("Service", "dev-redis-headless"),
        ("Service", "dev-redis"),
        ("Service", "dev-sentinel-headless"),
        ("Service", "dev-sentinel"),
        ("StatefulSet", "dev-redis"),
        ("StatefulSet", "dev-sentinel"),
        ("PodDisruptionBudget", "dev-redis"),
        ("PodDisruptionBudget", "dev-sentinel"),
        ("NetworkPolicy", "dev-redis"),
    }
    assert objs[("StatefulSet", "dev-redis")]["spec"]["replicas"] == 3
    assert objs[("StatefulSet", "dev-sentinel")]["spec"]["replicas"] == 5
    assert container(objs[("StatefulSet", "dev-redis")])["command"] == ["sh", "/etc/parity/redis/start-redis.sh"]
    sentinel_service = objs[("Service", "dev-sentinel")]["spec"]
    assert [(p["name"], p["port"]) for p in sentinel_service["ports"]] == [("sentinel", 26379)]
    assert sentinel_service["selector"]["app.kubernetes.io/name"] == "sentinel"
    sentinel_labels = objs[("StatefulSet", "dev-sentinel")]["metadata"]["labels"]
    assert sentinel_labels["app.kubernetes.io/name"] == "sentinel"
    assert sentinel_labels["app.kubernetes.io/component"] == "redis"


def test_redis_conf_carries_spec_config_sorted_after_the_base():
    objs = redis_objects({"config": {"maxmemory-policy": "allkeys-lru", "appendonly": "yes", "maxmemory": "64mb"}})
    conf = objs[("ConfigMap", "dev-redis-config")]["data"]["redis.conf"].splitlines()
    user = [line for line in conf if line.split(" ", 1)[0] in {"maxmemory-policy", "appendonly", "maxmemory"}]
    assert user == ["appendonly yes", "maxmemory 64mb", "maxmemory-policy allkeys-lru"]
    assert "port 6379" in conf and "protected-mode yes" in conf
    assert conf.index("port 6379") < conf.index("appendonly yes")


def test_start_script_follows_the_sentinels_and_falls_back_to_pod_zero():
    objs = redis_objects({"sentinel": {"masterGroupName": "cache"}})
    script = objs[("ConfigMap", "dev-redis-config")]["data"]["start-redis.sh"]
    assert "redis-cli -h dev-sentinel.team-a.svc -p 26379" in script
    assert "get-master-addr-by-name cache" in script
    assert 'primary="dev-redis-0.dev-redis-headless.team-a.svc"' in script
    assert "replicaof $primary 6379" in script
    assert 'self="$(hostname).dev-redis-headless.team-a.svc"' in script


def test_sentinel_settings_come_from_the_spec():
    objs = redis_objects({"sentinel": {"replicas": 3, "quorum": 2, "downAfterMilliseconds": 7000,
                                       "failoverTimeout": 90000, "parallelSyncs": 2, "masterGroupName": "cache"}})
    data = objs[("ConfigMap", "dev-sentinel-config")]["data"]
    assert data["sentinel-group.conf"].splitlines() == [
        "sentinel down-after-milliseconds cache 7000",
        "sentinel failover-timeout cache 90000",
        "sentinel parallel-syncs cache 2",
    ]
    assert 'echo "sentinel monitor cache $primary 6379 2"' in data["start-sentinel.sh"]
    conf = data["sentinel.conf"].splitlines()
    assert "sentinel resolve-hostnames yes" in conf and "port 26379" in conf
    script = data["start-sentinel.sh"]
    # Hostname resolution must be configured before the monitor line names a host.
    assert script.index("cat /etc/parity/redis/sentinel.conf") < script.index("sentinel monitor")


def test_headless_services_publish_not_ready_members():
    objs = redis_objects()
    for name in ("dev-redis-headless", "dev-sentinel-headless"):
        spec = objs[("Service", name)]["spec"]
        assert spec["clusterIP"] == "None" and spec["publishNotReadyAddresses"] is True
    assert objs[("StatefulSet", "dev-redis")]["spec"]["serviceName"] == "dev-redis-headless"
    assert objs[("StatefulSet", "dev-sentinel")]["spec"]["serviceName"] == "dev-sentinel-headless"


def test_image_from_version_and_override_used_by_both_redis_and_sentinel():
    objs = redis_objects({"version": "7.2.5"})
    assert container(objs[("StatefulSet", "dev-redis")])["image"] == "redis:7.2.5"
    assert container(objs[("StatefulSet", "dev-sentinel")])["image"] == "redis:7.2.5"
    objs = redis_objects({"image": "registry.local/redis:7"})
    assert container(objs[("StatefulSet", "dev-redis")])["image"] == "registry.local/redis:7"
    assert container(objs[("StatefulSet", "dev-sentinel")])["image"] == "registry.local/redis:7"


def test_settings_change_live_while_script_changes_replace_pods():
    def template_annotations(raw_redis: dict) -> list[dict]:
        objs = redis_objects(raw_redis)
        return [objs[("StatefulSet", n)]["spec"]["template"]["metadata"]["annotations"]
                for n in ("dev-redis", "dev-sentinel")]
    base = template_annotations({"config": {"maxmemory": "256mb"}})
    # A settings change reaches the processes through CONFIG SET / SENTINEL SET, not a roll.
    assert base == template_annotations({"config": {"maxmemory": "512mb"}, "sentinel": {"downAfterMilliseconds": 9000}})
    # The start scripts name the master group: changing it must replace the pods.
    assert base != template_annotations({"config": {"maxmemory": "256mb"}, "sentinel": {"masterGroupName": "other"}})


def test_a_setting_redis_cannot_change_at_runtime_rolls_the_members():
    def redis_template_hash(config: dict) -> str:
        sts = redis_objects({"config": config})[("StatefulSet", "dev-redis")]
        return sts["spec"]["template"]["metadata"]["annotations"]["parity.dev/config-hash"]

    base = redis_template_hash({"maxmemory": "256mb"})
    # `databases` is immutable at runtime (CONFIG SET refuses it): only new processes apply it.
    with_databases = redis_template_hash({"maxmemory": "256mb", "databases": "32"})
    assert with_databases != base
    assert redis_template_hash({"maxmemory": "512mb", "databases": "32"}) == with_databases
    assert redis_template_hash({"maxmemory": "256mb", "databases": "8"}) != with_databases


def test_a_restarting_primary_waits_for_the_sentinels_to_fail_over_before_it_could_serve_an_empty_dataset():
    script = redis_objects({})[("ConfigMap", "dev-redis-config")]["data"]["start-redis.sh"]
    # Named primary by the Sentinels while starting: with replicas known, wait for their failover ...
    assert 'if [ "$primary" = "$self" ]; then' in script
    assert "SENTINEL replicas mymaster" in script
    # ... never force one: SENTINEL FAILOVER skips the leader election and can race the
    # automatic failover (two promoted replicas; the loser's acknowledged writes are discarded).
    assert "SENTINEL failover" not in script.replace("fail over", "")
    # The wait covers down-after (5 s) plus failover-timeout (60 s) by default ...
    assert "print int(ms / 1000) + 10" in script and "limit=\"${limit:-75}\"" in script
    # ... and rather not start than start as an empty primary.
    assert "not starting as an empty primary" in script and "exit 1" in script
    assert script.index("not starting as an empty primary") < script.index("exec redis-server")


def test_every_member_requires_the_password_from_the_secret_and_no_configmap_holds_it():
    objs = redis_objects({})
    ref = {"secretKeyRef": {"name": "dev-postgres-credentials", "key": "redis-password"}}
    for sts in ("dev-redis", "dev-sentinel"):
        env = objs[("StatefulSet", sts)]["spec"]["template"]["spec"]["containers"][0]["env"]
        assert env == [{"name": "REDIS_PASSWORD", "valueFrom": ref}, {"name": "REDISCLI_AUTH", "valueFrom": ref}]
    start_redis = objs[("ConfigMap", "dev-redis-config")]["data"]["start-redis.sh"]
    assert 'echo "requirepass \\"$REDIS_PASSWORD\\""' in start_redis
    assert 'echo "masterauth \\"$REDIS_PASSWORD\\""' in start_redis
    start_sentinel = objs[("ConfigMap", "dev-sentinel-config")]["data"]["start-sentinel.sh"]
    # auth-pass names a monitored group, so it must follow the monitor line.
    assert start_sentinel.index("sentinel monitor mymaster") < start_sentinel.index(
        'echo "sentinel auth-pass mymaster \\"$REDIS_PASSWORD\\""')
    assert 'echo "requirepass \\"$REDIS_PASSWORD\\""' in start_sentinel
    assert "protected-mode yes" in objs[("ConfigMap", "dev-redis-config")]["data"]["redis.conf"]
    assert "protected-mode yes" in objs[("ConfigMap", "dev-sentinel-config")]["data"]["sentinel.conf"]


def test_an_environment_whose_secret_predates_the_redis_password_keeps_running_without_one():
    from parity.render import build_children

    children = build_children("dev", "team-a", "uid-1", EnvironmentSpec.model_validate({}),
                              secret_keys=frozenset({"superuser-password", "replication-password", "app-password"}))
    objs = {(o["kind"], o["metadata"]["name"]): o for o in children}
    for sts in ("dev-redis", "dev-sentinel"):
        assert "env" not in objs[("StatefulSet", sts)]["spec"]["template"]["spec"]["containers"][0]
    text = json.dumps(children)
    assert "REDIS_PASSWORD" not in text and "redis-password" not in text
    assert "protected-mode no" in objs[("ConfigMap", "dev-redis-config")]["data"]["redis.conf"]


def test_spec_config_may_not_set_the_passwords():
    from parity.render.checks import check_combinations

    for key in ("requirepass", "masterauth", "masteruser"):
        problems = check_combinations(parse_environment({"redis": {"config": {key: "x"}}}, source="env.yaml"))
        assert [p for p in problems if p.startswith(f"spec.redis.config.{key}: ") and "Secret" in p], problems


# --- the start script's decisions, run by sh against stand-in commands -----------------------
# redis-cli, redis-server, hostname and sleep are replaced by small scripts that answer from
# files, so each case is one arrangement of what the Sentinels and the other members say.

STUB_REDIS_CLI = r"""#!/bin/sh
# Answers from $STUBS: sentinel-primary (one line per call, the last repeats; absent: unreachable),
# sentinel-replicas (a count), role-<host> (ROLE of a member; absent: unreachable).
host=""; port=""
while [ $# -gt 0 ]; do
  case "$1" in -h) host=$2; shift 2 ;; -p) port=$2; shift 2 ;; --raw) shift ;; *) break ;; esac
done
if [ "$port" = 26379 ]; then
  [ -f "$STUBS/sentinel-primary" ] || exit 1
  case "$2" in
    get-master-addr-by-name)
      calls=$(cat "$STUBS/calls" 2>/dev/null || echo 0); calls=$((calls + 1)); echo "$calls" > "$STUBS/calls"
      total=$(wc -l < "$STUBS/sentinel-primary")
      line=$(( calls < total ? calls : total ))
      sed -n "${line}p" "$STUBS/sentinel-primary"; echo 6379 ;;
    replicas) i=0; while [ "$i" -lt "$(cat "$STUBS/sentinel-replicas")" ]; do echo name; echo "r$i"; i=$((i + 1)); done ;;
    master) printf 'down-after-milliseconds\n5000\nfailover-timeout\n60000\n' ;;
  esac
  exit 0
fi
[ -f "$STUBS/role-$host" ] || exit 1
cat "$STUBS/role-$host"
"""


def run_start_script(tmp_path, *, sentinel_primary=None, sentinel_replicas=0, roles=None):
    """Runs the rendered start-redis.sh as pod dev-redis-0; returns (exit code, stderr, the
    config redis-server was started with or None)."""
    import os
    import subprocess

    script = redis_objects({})[("ConfigMap", "dev-redis-config")]["data"]["start-redis.sh"]
    data, config, stubs, bin_dir = (tmp_path / d for d in ("data", "config", "stubs", "bin"))
    for d in (data, config, stubs, bin_dir):
        d.mkdir()
    (config / "redis.conf").write_text("port 6379\n")
    script = script.replace("/data", str(data)).replace("/etc/parity/redis", str(config))
    stubs_files = {"redis-cli": STUB_REDIS_CLI,
                   "redis-server": f'#!/bin/sh\ncp "$1" {stubs}/started.conf\n',
                   "hostname": "#!/bin/sh\necho dev-redis-0\n", "sleep": "#!/bin/sh\n"}
    for name, text in stubs_files.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    if sentinel_primary is not None:
        (stubs / "sentinel-primary").write_text("\n".join(sentinel_primary) + "\n")
        (stubs / "sentinel-replicas").write_text(str(sentinel_replicas))
    for host, lines in (roles or {}).items():
        (stubs / f"role-{host}.dev-redis-headless.team-a.svc").write_text("\n".join(lines) + "\n")
    proc = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=60,
                          env={"PATH": f"{bin_dir}:{os.environ['PATH']}", "STUBS": str(stubs),
                               "REDIS_PASSWORD": "pw"})
    started = stubs / "started.conf"
    return proc.returncode, proc.stderr, started.read_text() if started.exists() else None


SELF = "dev-redis-0.dev-redis-headless.team-a.svc"
PEER1, PEER2 = "dev-redis-1.dev-redis-headless.team-a.svc", "dev-redis-2.dev-redis-headless.team-a.svc"


def test_without_sentinels_pod_zero_follows_the_primary_the_running_members_name(tmp_path):
    code, err, conf = run_start_script(tmp_path, roles={"dev-redis-1": ["slave", PEER2, "6379", "connected", "900"],
                                                        "dev-redis-2": ["master", "900"]})
    assert code == 0, err
    assert f"replicaof {PEER2} 6379" in conf


def test_without_sentinels_or_members_pod_zero_is_the_first_primary(tmp_path):
    code, err, conf = run_start_script(tmp_path)
    assert code == 0, err
    assert "replicaof" not in conf and f"replica-announce-ip {SELF}" in conf


def test_named_primary_with_replicas_holding_data_refuses_to_start_empty(tmp_path):
    # No Sentinel answers; the members still replicate from this pod and hold data.
    code, err, conf = run_start_script(tmp_path, roles={"dev-redis-1": ["slave", SELF, "6379", "connect", "900"],
                                                        "dev-redis-2": ["slave", SELF, "6379", "connect", "900"]})
    assert code == 1 and conf is None
    assert "not starting as an empty primary" in err


def test_named_primary_whose_replicas_never_synced_starts_as_primary(tmp_path):
    # Every member restarting at once: the replicas wait for this pod and hold nothing.
    code, err, conf = run_start_script(tmp_path, roles={"dev-redis-1": ["slave", SELF, "6379", "connect", "-1"]})
    assert code == 0, err
    assert "replicaof" not in conf


def test_named_primary_waits_for_the_sentinels_failover_then_follows_it(tmp_path):
    code, err, conf = run_start_script(tmp_path, sentinel_primary=[SELF, SELF, SELF, PEER1], sentinel_replicas=2)
    assert code == 0, err
    assert f"replicaof {PEER1} 6379" in conf
    assert (tmp_path / "stubs" / "calls").read_text().strip() == "4"  # it asked until they failed over


def test_named_primary_the_sentinels_know_no_replica_of_starts_as_primary(tmp_path):
    code, err, conf = run_start_script(tmp_path, sentinel_primary=[SELF], sentinel_replicas=0)
    assert code == 0, err
    assert "replicaof" not in conf and 'requirepass "pw"' in conf


# --- the readiness probe of a member in sentinel mode, run by sh against a stand-in redis-cli ----

def replication_info(**fields: str) -> str:
    """INFO replication as Redis sends it: CRLF line ends."""
    return "# Replication\r\n" + "".join(f"{k}:{v}\r\n" for k, v in fields.items())


def run_readiness_probe(tmp_path, answer: str | None) -> int:
    """Runs the rendered probe; `answer` is what redis-cli prints (None: it cannot connect)."""
    import os
    import subprocess
    import tempfile

    probe = container(redis_objects({})[("StatefulSet", "dev-redis")])["readinessProbe"]
    assert probe["periodSeconds"] == 2 and probe["failureThreshold"] == 1
    bin_dir = Path(tempfile.mkdtemp(dir=tmp_path))
    if answer is None:
        stub = "#!/bin/sh\necho 'Could not connect to Redis at 127.0.0.1:6379: Connection refused' >&2\nexit 1\n"
    else:
        (bin_dir / "answer").write_text(answer)
        stub = f"#!/bin/sh\ncat {bin_dir / 'answer'}\n"
    (bin_dir / "redis-cli").write_text(stub)
    (bin_dir / "redis-cli").chmod(0o755)
    return subprocess.run(probe["exec"]["command"], capture_output=True, text=True, timeout=30,
                          env={"PATH": f"{bin_dir}:{os.environ['PATH']}"}).returncode


def test_the_primary_is_ready(tmp_path):
    assert run_readiness_probe(tmp_path, replication_info(role="master", connected_slaves="2")) == 0


def test_a_replica_with_its_link_up_and_the_sync_done_is_ready(tmp_path):
    answer = replication_info(role="slave", master_host=PEER1, master_link_status="up",
                              master_sync_in_progress="0", slave_repl_offset="900")
    assert run_readiness_probe(tmp_path, answer) == 0


def test_a_replica_that_lost_its_primary_or_is_still_syncing_is_not_ready(tmp_path):
    # `ping` answers PONG in both cases; a roll that went on would stop the primary while this
    # replica lacks its recent writes.
    lost = replication_info(role="slave", master_host=PEER1, master_link_status="down",
                            master_sync_in_progress="0", slave_repl_offset="900")
    assert run_readiness_probe(tmp_path, lost) == 1
    syncing = replication_info(role="slave", master_host=PEER1, master_link_status="up",
                               master_sync_in_progress="1", slave_repl_offset="-1")
    assert run_readiness_probe(tmp_path, syncing) == 1


def test_a_member_that_does_not_answer_or_refuses_is_not_ready(tmp_path):
    assert run_readiness_probe(tmp_path, None) == 1
    assert run_readiness_probe(tmp_path, "NOAUTH Authentication required.\n") == 1


def test_the_roll_waits_for_a_replaced_member_to_stay_ready_while_standalone_keeps_ping():
    sentinel = redis_objects({})[("StatefulSet", "dev-redis")]
    assert sentinel["spec"]["minReadySeconds"] == 5
    standalone = redis_objects({"mode": "standalone"})[("StatefulSet", "dev-redis")]
    assert "minReadySeconds" not in standalone["spec"]
    assert container(standalone)["readinessProbe"]["exec"]["command"] == ["redis-cli", "-p", "6379", "ping"]
