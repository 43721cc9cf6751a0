"""Redis, standalone or with Sentinel.

standalone: ConfigMap `<env>-redis-config`, Services `<env>-redis-headless` and `<env>-redis`,
StatefulSet `<env>-redis` with exactly one pod (spec.redis.replicas is not used: a standalone
server has no replicas to fail over to, and extra independent servers would not be a cluster).

sentinel: the same names with `replicas` Redis pods (pod 0 starts as the primary, the others
as its replicas), plus ConfigMap `<env>-sentinel-config`, Services `<env>-sentinel-headless`
and `<env>-sentinel`, StatefulSet `<env>-sentinel` with spec.redis.sentinel.replicas pods.

Every Redis and Sentinel announces its stable per-pod DNS name (not its pod IP), so a
restarted pod with a new IP is still the same member to the Sentinels.

Every Redis and Sentinel requires a password: `redis-password` of the environment's credentials
Secret (render/postgres.py), in the containers' environment as REDIS_PASSWORD and as
REDISCLI_AUTH (read by every redis-cli: the start scripts and the probes). It is written into
the runtime copies of the configuration under /data, never into a ConfigMap: requirepass and
masterauth for Redis, requirepass and `sentinel auth-pass` for Sentinel (Sentinels also use
their requirepass to authenticate with each other).
"""

from __future__ import annotations

from typing import Any

from parity import constants as c
from parity.api.models import RedisSpec, ResourceList, Resources
from parity.render import images
from parity.render import postgres as credentials
from parity.render.common import (
    NON_ROOT_UID,
    ANNOTATION_CONFIG_HASH,
    Owner,
    config_hash,
    config_map,
    container_port,
    empty_dir_volume,
    env_secret,
    exec_probe,
    pod_disruption_budget,
    pod_spec,
    read_only_root,
    service,
    service_port,
    spread_members,
    tcp_probe,
    with_resources,
)

APP = "redis"
SENTINEL_APP = "sentinel"
REDIS_PORT = 6379
SENTINEL_PORT = 26379
CONFIG_DIR = "/etc/parity/redis"
DATA_DIR = "/data"

# Settings the rendered configuration itself depends on; spec.redis.config must not set them
# (the passwords come from the Secret, and a value in the spec would be shown in drift output).
RESERVED_CONFIG_KEYS = ("dir", "port", "replica-announce-ip", "replicaof", "slaveof", "requirepass", "masterauth",
                        "masteruser")

# Settings Redis refuses to change at runtime ("can't set immutable config" / "protected config"),
# found by CONFIG SET of every `CONFIG GET *` key to its own value on redis-server 7.0.15
# (Debian bookworm, the local image). CONFIG SET cannot apply them, so they are part of the pod
# template's hash: changing one rolls the StatefulSet (start-redis.sh waits for the Sentinels to fail over).
RESTART_ONLY_CONFIG_KEYS = frozenset({
    "aclfile", "always-show-logo", "aof_rewrite_cpulist", "appenddirname", "appendfilename", "bgsave_cpulist",
    "bio_cpulist", "cluster-config-file", "cluster-enabled", "cluster-port", "daemonize", "databases",
    "dbfilename", "disable-thp", "enable-debug-command", "enable-module-command", "enable-protected-configs",
    "io-threads", "io-threads-do-reads", "logfile", "pidfile", "rdbchecksum", "server_cpulist", "set-proc-title",
    "socket-mark-id", "supervised", "syslog-enabled", "syslog-facility", "syslog-ident", "tcp-backlog",
    "unixsocket", "unixsocketperm",
})


def statefulset_name(env_name: str) -> str:
    return f"{env_name}-redis"


def service_name(env_name: str) -> str:
    return f"{env_name}-redis"


def headless_service_name(env_name: str) -> str:
    return f"{env_name}-redis-headless"


def config_map_name(env_name: str) -> str:
    return f"{env_name}-redis-config"


def sentinel_statefulset_name(env_name: str) -> str:
    return f"{env_name}-sentinel"


def sentinel_service_name(env_name: str) -> str:
    return f"{env_name}-sentinel"


def sentinel_headless_service_name(env_name: str) -> str:
    return f"{env_name}-sentinel-headless"


def sentinel_config_map_name(env_name: str) -> str:
    return f"{env_name}-sentinel-config"


def redis_replicas(spec: RedisSpec) -> int:
    return 1 if spec.mode == "standalone" else spec.replicas


def redis_hosts(env_name: str, namespace: str, spec: RedisSpec) -> list[str]:
    """Stable DNS names of the Redis pods, pod 0 first."""
    domain = f"{headless_service_name(env_name)}.{namespace}.svc"
    return [f"{statefulset_name(env_name)}-{i}.{domain}" for i in range(redis_replicas(spec))]


def sentinel_hosts(env_name: str, namespace: str, spec: RedisSpec) -> list[str]:
    if spec.mode != "sentinel":
        return []
    domain = f"{sentinel_headless_service_name(env_name)}.{namespace}.svc"
    return [f"{sentinel_statefulset_name(env_name)}-{i}.{domain}" for i in range(spec.sentinel.replicas)]


# --- configuration ---------------------------------------------------------------------------

def render_redis_conf(spec: RedisSpec, *, password: bool = True) -> str:
    lines = [
        "# Rendered by parity-operator from spec.redis.config; change the ParityEnvironment, not this file.",
        f"port {REDIS_PORT}",
        f"dir {DATA_DIR}",
        # With a password (requirepass, appended at start from the Secret) protected mode, which
        # guards only a server without one, stays on; without one it would refuse every other pod.
        f"protected-mode {'yes' if password else 'no'}",
    ]
    lines += [f"{key} {value}" for key, value in sorted(spec.config.items())]
    return "\n".join(lines) + "\n"


# The writable copy of redis.conf that Redis runs from (CONFIG REWRITE persists live changes
# there). Removed first and made writable: the ConfigMap's file is read-only, a copy keeps that
# mode, and after a container restart the non-root process could not overwrite it.
COPY_CONFIG = (f"mkdir -p {DATA_DIR}/conf && rm -f {DATA_DIR}/conf/redis.conf && "
               f"cp {CONFIG_DIR}/redis.conf {DATA_DIR}/conf/redis.conf && chmod 0644 {DATA_DIR}/conf/redis.conf")


def echo_password_directive(directive: str) -> str:
    """A shell command printing `<directive> "<password>"`: the password comes from the
    container's REDIS_PASSWORD at start, so no ConfigMap holds it."""
    return f'echo "{directive} \\"$REDIS_PASSWORD\\""'


def _start_redis_script(owner: Owner, spec: RedisSpec) -> str:
    env, ns = owner.env_name, owner.namespace
    password_lines = "".join(f"\n  {echo_password_directive(key)}" for key in ("requirepass", "masterauth")
                             if has_password(owner))
    sentinel = f"timeout 5 redis-cli -h {owner.service_host(sentinel_service_name(env))} -p {SENTINEL_PORT} --raw"
    group = spec.sentinel.master_group_name
    hosts = redis_hosts(env, ns, spec)
    return f"""#!/bin/sh
# Start as a replica of the primary the Sentinels agree on. When no Sentinel answers (the
# environment's first start, all Sentinels down, or this pod's DNS not working yet) the running
# members say whom they follow; only when none answers either is pod 0 the primary.
set -eu
self="$(hostname).{headless_service_name(env)}.{ns}.svc"
ask_primary() {{
  answer=$({sentinel} SENTINEL get-master-addr-by-name {group} 2>/dev/null || true)
  printf '%s\\n' "$answer" | head -n 1
}}
# ROLE of another member, one field a line ("master"/"slave" first); empty when it does not answer.
role_of() {{
  timeout 3 redis-cli -h "$1" -p {REDIS_PORT} --raw ROLE 2>/dev/null || true
}}
# The primary as the other members see it: a primary names itself, a replica its primary.
# Prints nothing when no other member answers.
peer_primary() {{
  for peer in {" ".join(hosts)}; do
    [ "$peer" = "$self" ] && continue
    role=$(role_of "$peer")
    case "$(printf '%s\\n' "$role" | head -n 1)" in
      master) echo "$peer"; return ;;
      slave) printf '%s\\n' "$role" | sed -n 2p; return ;;
    esac
  done
}}
# How many replicas hold this group's data: as the Sentinels count them, else the other members
# that are a primary or a replica that has received data (ROLE's offset, line 5, above 0): a
# Sentinel that cannot be asked is no proof there are none, and replicas that never synced
# (every member restarting at once) hold nothing to protect.
known_replicas() {{
  if listing=$({sentinel} SENTINEL replicas {group} 2>/dev/null); then
    printf '%s\\n' "$listing" | grep -c '^name$' || true
    return
  fi
  count=0
  for peer in {" ".join(hosts)}; do
    [ "$peer" = "$self" ] && continue
    role=$(role_of "$peer")
    if printf '%s\\n' "$role" | awk 'NR == 1 && $0 == "master" {{ held = 1 }} NR == 5 && $0 + 0 > 0 {{ held = 1 }} END {{ exit !held }}'; then
      count=$((count + 1))
    fi
  done
  echo "$count"
}}
valid() {{
  case "$1" in ""|*" "*) return 1 ;; esac
}}
primary=$(ask_primary)
valid "$primary" || primary=$(peer_primary)
valid "$primary" || primary="{hosts[0]}"
if [ "$primary" = "$self" ]; then
  # Named primary (by the Sentinels or the members) while starting, with an empty data directory
  # after a pod replacement: as primary it would hand that empty dataset to its replicas. When
  # replicas exist, wait, not serving, until the Sentinels fail over to one (they do: this
  # primary is down to them). Not SENTINEL FAILOVER: a forced failover skips the Sentinels'
  # leader election, so it can race the automatic one, promote a second replica, and the writes
  # acknowledged by the loser are discarded when it is turned back into a replica.
  if [ "$(known_replicas)" -gt 0 ]; then
    # Long enough for them to see this pod down, agree and finish a failover: their own
    # down-after plus failover-timeout (read live, so changing those settings rolls no pod).
    limit=$({sentinel} SENTINEL master {group} 2>/dev/null \\
      | awk 'last == "down-after-milliseconds" || last == "failover-timeout" {{ ms += $0 }} {{ last = $0 }} END {{ if (ms) print int(ms / 1000) + 10 }}' || true)
    limit="${{limit:-75}}"
    waited=0
    while [ "$primary" = "$self" ] && [ "$waited" -lt "$limit" ]; do
      sleep 1
      waited=$((waited + 1))
      candidate=$(ask_primary)
      valid "$candidate" || candidate=$(peer_primary)
      if valid "$candidate" && [ "$candidate" != "$self" ]; then primary="$candidate"; fi
    done
    if [ "$primary" = "$self" ]; then
      echo "the Sentinels did not fail over from $self within $limit s; not starting as an empty primary" >&2
      exit 1
    fi
  fi
fi
{COPY_CONFIG}
{{
  echo "replica-announce-ip $self"{password_lines}
}} >> {DATA_DIR}/conf/redis.conf
if [ "$primary" != "$self" ]; then
  echo "replicaof $primary {REDIS_PORT}" >> {DATA_DIR}/conf/redis.conf
fi
exec redis-server {DATA_DIR}/conf/redis.conf
"""


def render_sentinel_conf(*, password: bool = True) -> str:
    return "\n".join([
        f"port {SENTINEL_PORT}",
        # requirepass is appended at start from the Secret (see the start script).
        f"protected-mode {'yes' if password else 'no'}",
        # Members are known by DNS name; these must precede the `sentinel monitor` line.
        "sentinel resolve-hostnames yes",
        "sentinel announce-hostnames yes",
    ]) + "\n"


def render_sentinel_group_conf(spec: RedisSpec) -> str:
    s = spec.sentinel
    group = s.master_group_name
    return "\n".join([
        f"sentinel down-after-milliseconds {group} {s.down_after_milliseconds}",
        f"sentinel failover-timeout {group} {s.failover_timeout}",
        f"sentinel parallel-syncs {group} {s.parallel_syncs}",
    ]) + "\n"


def _start_sentinel_script(owner: Owner, spec: RedisSpec) -> str:
    env, ns = owner.env_name, owner.namespace
    s = spec.sentinel
    requirepass = f"\n  {echo_password_directive('requirepass')}" if has_password(owner) else ""
    auth_pass = (f"\n  {echo_password_directive(f'sentinel auth-pass {s.master_group_name}')}"
                 if has_password(owner) else "")
    return f"""#!/bin/sh
# Sentinel rewrites its configuration file, so it is assembled in a writable directory on every
# start. The primary to monitor is the one the other Sentinels agree on, else Redis pod 0.
set -eu
self="$(hostname).{sentinel_headless_service_name(env)}.{ns}.svc"
answer=$(timeout 5 redis-cli -h {owner.service_host(sentinel_service_name(env))} -p {SENTINEL_PORT} --raw \\
  SENTINEL get-master-addr-by-name {s.master_group_name} 2>/dev/null || true)
primary=$(printf '%s\\n' "$answer" | head -n 1)
case "$primary" in
  ""|*" "*) primary="{redis_hosts(env, ns, spec)[0]}" ;;
esac
# Sentinel refuses to start while the primary's name does not resolve (its pod may not exist
# yet); wait a bounded time for it, then start anyway and let the container restart if needed.
tries=0
until timeout 2 redis-cli -h "$primary" -p {REDIS_PORT} ping >/dev/null 2>&1 || [ "$tries" -ge 30 ]; do
  tries=$((tries + 1))
  sleep 2
done
{{
  cat {CONFIG_DIR}/sentinel.conf{requirepass}
  echo "sentinel announce-ip $self"
  echo "sentinel monitor {s.master_group_name} $primary {REDIS_PORT} {s.quorum}"{auth_pass}
  cat {CONFIG_DIR}/sentinel-group.conf
}} > {DATA_DIR}/sentinel.conf
exec redis-sentinel {DATA_DIR}/sentinel.conf
"""


def redis_config_data(owner: Owner, spec: RedisSpec) -> dict[str, str]:
    data = {"redis.conf": render_redis_conf(spec, password=has_password(owner))}
    if spec.mode == "sentinel":
        data["start-redis.sh"] = _start_redis_script(owner, spec)
    return data


def sentinel_config_data(owner: Owner, spec: RedisSpec) -> dict[str, str]:
    return {
        "sentinel.conf": render_sentinel_conf(password=has_password(owner)),
        "sentinel-group.conf": render_sentinel_group_conf(spec),
        "start-sentinel.sh": _start_sentinel_script(owner, spec),
    }


# --- objects ---------------------------------------------------------------------------------

# Settings the operator changes in the running processes (CONFIG SET + CONFIG REWRITE,
# SENTINEL SET: parity.actuate.redis) rather than by replacing the pods: a rolling replacement
# of Redis members loses the data of each one it restarts (emptyDir) and moves the primary.
LIVE_SETTINGS_FILES = ("redis.conf", "sentinel-group.conf")


def _restart_data(data: dict[str, str], restart_settings: dict[str, Any] | None = None) -> dict[str, str]:
    """The part of a ConfigMap whose change must replace the pods: the scripts, and the settings
    Redis cannot change at runtime (not the others)."""
    kept = {k: v for k, v in data.items() if k not in LIVE_SETTINGS_FILES}
    if restart_settings:
        # Only when there are any: existing pods keep their hash, so an upgrade rolls nothing.
        kept["restart-only-settings"] = "\n".join(f"{k} {restart_settings[k]}" for k in sorted(restart_settings))
    return kept


def restart_only_settings(spec: RedisSpec) -> dict[str, Any]:
    return {k: v for k, v in (spec.config or {}).items() if k.lower() in RESTART_ONLY_CONFIG_KEYS}


# Bound of a Redis member's scratch volume (RDB snapshots of at most maxmemory, plus the copy
# of redis.conf): generous, so only a runaway writer gets its pod evicted.
DATA_SIZE_LIMIT = "2Gi"
# Sentinel when spec.redis.sentinel.resources is not set: measured at about 12 MiB resident. No
# CPU limit: Sentinel is the failure detector, and CFS throttling delays its pings and replies (a
# Redis roll under writes on the loaded real node lost acknowledged writes with a 200m limit).
DEFAULT_SENTINEL_RESOURCES = Resources(requests=ResourceList(cpu="10m", memory="32Mi"),
                                       limits=ResourceList(memory="128Mi"))


# Redis and Sentinel run as NON_ROOT_UID, whatever the image's default user: they write only
# under /data (an emptyDir the pod's fsGroup makes theirs) and need no passwd entry, so any
# Redis image (the local Debian one, the official one) runs unchanged, with a read-only root.


def sentinels_that_may_leave(spec: RedisSpec) -> int:
    """Sentinels that may be drained at once with a quorum still able to authorise a failover
    (at least 1, so a single Sentinel never blocks a node drain forever)."""
    return max(1, spec.sentinel.replicas - spec.sentinel.quorum)


def _statefulset(owner: Owner, app: str, name: str, replicas: int, service_name_: str, container: dict,
                 config_map_: str, data: dict[str, str], *, version: str | None, parallel: bool,
                 restart_settings: dict[str, Any] | None = None, min_ready_seconds: int | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"replicas": replicas, "serviceName": service_name_}
    if parallel:
        spec["podManagementPolicy"] = "Parallel"
    if min_ready_seconds:
        spec["minReadySeconds"] = min_ready_seconds
    volumes = [
        {"configMap": {"defaultMode": 0o555, "name": config_map_}, "name": "config"},
        # Redis data lives only as long as the pod: in sentinel mode a restarted member resyncs
        # from the current primary; a development environment needs no durable cache.
        empty_dir_volume("data", size_limit=DATA_SIZE_LIMIT),
    ]
    spec["selector"] = {"matchLabels": owner.selector(app)}
    spec["template"] = {
        "metadata": owner.pod_metadata(c.COMPONENT_REDIS, app, version=version,
                                       annotations={ANNOTATION_CONFIG_HASH: config_hash(_restart_data(data, restart_settings))}),
        "spec": pod_spec([read_only_root(container)], volumes=volumes,
                         affinity=spread_members(owner, app), run_as=NON_ROOT_UID),
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": owner.metadata(c.COMPONENT_REDIS, name, app=app, version=version),
        "spec": spec,
    }


_MOUNTS = [
    {"mountPath": CONFIG_DIR, "name": "config", "readOnly": True},
    {"mountPath": DATA_DIR, "name": "data"},
]


def has_password(owner: Owner) -> bool:
    """Whether this environment's Redis and Sentinel require a password (its Secret holds one)."""
    return owner.has_secret(credentials.REDIS_PASSWORD_KEY)


def password_env(owner: Owner) -> list[dict[str, Any]]:
    """The password for the start scripts (REDIS_PASSWORD) and for every redis-cli, the probes'
    included (REDISCLI_AUTH), from the credentials Secret; none when it holds no Redis password."""
    if not has_password(owner):
        return []
    secret = credentials.secret_name(owner.env_name)
    return [env_secret("REDIS_PASSWORD", secret, credentials.REDIS_PASSWORD_KEY),
            env_secret("REDISCLI_AUTH", secret, credentials.REDIS_PASSWORD_KEY)]


def password_env_for_clients(owner: Owner) -> list[dict[str, Any]]:
    """REDIS_PASSWORD alone, for a client that reads it (the exporter), without the redis-cli one."""
    return [e for e in password_env(owner) if e["name"] == "REDIS_PASSWORD"]


# A member in sentinel mode is ready when it can take the primary's place without losing a
# write: it is the primary, or a replica whose link to its primary is up with the initial sync
# done. `ping` alone answers PONG from a replica that has not synced (or lost its primary), and
# a StatefulSet roll moves on as soon as the pod it replaced is ready: it would then stop the
# primary while the only other replica holds none of its recent writes, and the Sentinels would
# promote that one. Pure sh (no grep): INFO lines end in CR, which `case` patterns ignore.
REPLICATION_READY_SCRIPT = f"""info=$(redis-cli -p {REDIS_PORT} --no-auth-warning INFO replication) || exit 1
case "$info" in
  *role:master*) exit 0 ;;
  *master_sync_in_progress:1*) exit 1 ;;
  *master_link_status:up*) exit 0 ;;
esac
exit 1
"""
# Probed often and failing at once: the roll must see a replica that lost its link before it
# stops the next member, not 3 periods later.
REPLICATION_READY_PERIOD_SECONDS = 2
# A replaced member stays ready this long before the roll stops the next one, so the Sentinels
# (which ping every second) see it back and count it as a candidate for the next failover.
MEMBER_MIN_READY_SECONDS = 5


def readiness_probe(spec: RedisSpec) -> dict[str, Any]:
    if spec.mode == "sentinel":
        return exec_probe(["sh", "-c", REPLICATION_READY_SCRIPT], period=REPLICATION_READY_PERIOD_SECONDS, failures=1)
    return exec_probe(["redis-cli", "-p", str(REDIS_PORT), "ping"], period=5)


def build_redis_statefulset(owner: Owner, spec: RedisSpec, data: dict[str, str]) -> dict[str, Any]:
    if spec.mode == "sentinel":
        command = ["sh", f"{CONFIG_DIR}/start-redis.sh"]
    else:
        # A writable copy, so that CONFIG REWRITE can persist what the operator changes live.
        requirepass = (f"&& {echo_password_directive('requirepass')} >> {DATA_DIR}/conf/redis.conf "
                       if has_password(owner) else "")
        command = ["sh", "-c", f"{COPY_CONFIG} {requirepass}&& exec redis-server {DATA_DIR}/conf/redis.conf"]
    container = with_resources({
        "name": APP,
        "image": images.redis_image(spec, owner.images),
        "command": command,
        **({"env": env} if (env := password_env(owner)) else {}),
        "ports": [container_port("redis", REDIS_PORT)],
        "readinessProbe": readiness_probe(spec),
        "livenessProbe": tcp_probe("redis", period=10, failures=6),
        "volumeMounts": [dict(m) for m in _MOUNTS],
    }, spec.resources)
    return _statefulset(owner, APP, statefulset_name(owner.env_name), redis_replicas(spec),
                        headless_service_name(owner.env_name), container, config_map_name(owner.env_name), data,
                        version=spec.version, parallel=False, restart_settings=restart_only_settings(spec),
                        min_ready_seconds=MEMBER_MIN_READY_SECONDS if spec.mode == "sentinel" else None)


def build_sentinel_statefulset(owner: Owner, spec: RedisSpec, data: dict[str, str]) -> dict[str, Any]:
    container = with_resources({
        "name": SENTINEL_APP,
        "image": images.redis_image(spec, owner.images),
        "command": ["sh", f"{CONFIG_DIR}/start-sentinel.sh"],
        **({"env": env} if (env := password_env(owner)) else {}),
        "ports": [container_port("sentinel", SENTINEL_PORT)],
        "readinessProbe": exec_probe(["redis-cli", "-p", str(SENTINEL_PORT), "ping"], period=5),
        "livenessProbe": tcp_probe("sentinel", period=10, failures=6),
        "volumeMounts": [dict(m) for m in _MOUNTS],
    }, spec.sentinel.resources or DEFAULT_SENTINEL_RESOURCES)
    return _statefulset(owner, SENTINEL_APP, sentinel_statefulset_name(owner.env_name), spec.sentinel.replicas,
                        sentinel_headless_service_name(owner.env_name), container,
                        sentinel_config_map_name(owner.env_name), data, version=spec.version, parallel=True)


def build_redis(owner: Owner, spec: RedisSpec) -> list[dict[str, Any]]:
    env = owner.env_name
    redis_data = redis_config_data(owner, spec)
    objects = [
        config_map(owner, c.COMPONENT_REDIS, config_map_name(env), redis_data, app=APP),
    ]
    sentinel_data = None
    if spec.mode == "sentinel":
        sentinel_data = sentinel_config_data(owner, spec)
        objects.append(config_map(owner, c.COMPONENT_REDIS, sentinel_config_map_name(env), sentinel_data,
                                  app=SENTINEL_APP))
    objects += [
        # Members must resolve each other before they are ready (a replica still syncing).
        service(owner, c.COMPONENT_REDIS, headless_service_name(env), APP, [service_port("redis", REDIS_PORT)],
                headless=True, publish_not_ready=True),
        # Every Redis pod: reads anywhere; writers in sentinel mode ask the Sentinels for the primary.
        service(owner, c.COMPONENT_REDIS, service_name(env), APP, [service_port("redis", REDIS_PORT)]),
    ]
    if sentinel_data is not None:
        objects += [
            service(owner, c.COMPONENT_REDIS, sentinel_headless_service_name(env), SENTINEL_APP,
                    [service_port("sentinel", SENTINEL_PORT)], headless=True, publish_not_ready=True),
            service(owner, c.COMPONENT_REDIS, sentinel_service_name(env), SENTINEL_APP,
                    [service_port("sentinel", SENTINEL_PORT)]),
        ]
    objects.append(build_redis_statefulset(owner, spec, redis_data))
    if sentinel_data is not None:
        objects.append(build_sentinel_statefulset(owner, spec, sentinel_data))
    objects.append(pod_disruption_budget(owner, c.COMPONENT_REDIS, statefulset_name(env), APP, max_unavailable=1))
    if sentinel_data is not None:
        objects.append(pod_disruption_budget(owner, c.COMPONENT_REDIS, sentinel_statefulset_name(env), SENTINEL_APP,
                                             max_unavailable=sentinels_that_may_leave(spec)))
    return objects
