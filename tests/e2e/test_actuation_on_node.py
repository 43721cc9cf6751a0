"""Spec changes reach the running services, and hand-made changes are reported, then reverted
under `policy: enforce` — on the real node, against the processes the operator deployed.

One environment for the module; the tests run in order and build on each other.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import threading
import time

import psycopg
import pytest
import redis
from e2e_support import apply_local_sample, kjson, redis_password
from support import REPO_ROOT, wait_until

ENV = "dev"
MEMBERS = 3


@pytest.fixture(scope="module")
def env(plane, e2e_namespace):
    apply_local_sample(plane, e2e_namespace)
    # The first actuation pass records what is in effect (bootstrap applied the spec).
    wait_until(lambda: _status(plane, e2e_namespace).get("actuation", {}).get("applied"),
               timeout=120, interval=3, what="status.actuation.applied")
    return plane, e2e_namespace


def _status(plane, ns: str) -> dict:
    return kjson(plane, "get", "penv", ENV, "-n", ns).get("status") or {}


def _patch_spec(plane, ns: str, patch: dict) -> None:
    plane.kubectl("patch", "penv", ENV, "-n", ns, "--type=merge", "-p", json.dumps({"spec": patch}))


def _password(plane, ns: str) -> str:
    data = kjson(plane, "get", "secret", f"{ENV}-postgres-credentials", "-n", ns)["data"]
    return base64.b64decode(data["superuser-password"]).decode()


def _member_host(ns: str, i: int) -> str:
    return f"{ENV}-postgres-{i}.{ENV}-postgres.{ns}.svc"


def _pg(ns: str, i: int, password: str, query: str, *params):
    with psycopg.connect(host=_member_host(ns, i), port=5432, user="postgres", password=password,
                         dbname="postgres", connect_timeout=5, autocommit=True) as conn:
        cur = conn.execute(query, params or None)
        return cur.fetchall() if cur.description else None


def _work_mem_everywhere(ns: str, password: str) -> list[str]:
    return [_pg(ns, i, password, "SELECT setting || unit FROM pg_settings WHERE name = 'work_mem'")[0][0]
            for i in range(MEMBERS)]


def _primary(ns: str, password: str) -> int:
    for i in range(MEMBERS):
        if not _pg(ns, i, password, "SELECT pg_is_in_recovery()")[0][0]:
            return i
    raise AssertionError("no member is out of recovery")


def _events(plane, ns: str, reason: str) -> list[str]:
    items = kjson(plane, "get", "events", "-n", ns, "--field-selector",
                  f"involvedObject.kind=ParityEnvironment,involvedObject.name={ENV},reason={reason}")["items"]
    return [e.get("message", "") for e in items]


def _runtime_findings(plane, ns: str) -> dict[str, dict]:
    drift = _status(plane, ns).get("drift") or {}
    return {f["path"]: f for f in drift.get("findings") or [] if f.get("level") == "runtime"}


def test_work_mem_change_reaches_every_member(env):
    plane, ns = env
    password = _password(plane, ns)
    assert set(_work_mem_everywhere(ns, password)) == {"4096kB"}
    _patch_spec(plane, ns, {"postgres": {"parameters": {"work_mem": "12MB"}}})
    wait_until(lambda: set(_work_mem_everywhere(ns, password)) == {"12288kB"}, timeout=90, interval=3,
               what="work_mem 12MB in pg_settings on every member")
    wait_until(lambda: _status(plane, ns)["actuation"]["applied"].get("postgres.parameters.work_mem") == "12MB",
               timeout=60, interval=3, what="status.actuation.applied to record work_mem")
    assert any("postgres.parameters.work_mem on Patroni DCS: 4MB → 12MB" in m
               for m in _events(plane, ns, "SettingsApplied"))
    wait_until(lambda: "postgres.parameters.work_mem" not in _runtime_findings(plane, ns), timeout=60, interval=3,
               what="no runtime finding for work_mem")


class Writer(threading.Thread):
    """Inserts rows through the primary Service until stopped; remembers every acknowledged id."""

    def __init__(self, ns: str, password: str):
        super().__init__(daemon=True)
        self.ns, self.password = ns, password
        self.acknowledged: list[int] = []
        self.failures = 0
        self.last_error = ""
        self.stop = threading.Event()

    def run(self) -> None:
        next_id, conn = 1, None
        while not self.stop.is_set():
            try:
                if conn is None:
                    conn = psycopg.connect(host=f"{ENV}-postgres-primary.{self.ns}.svc", port=5432, user="postgres",
                                           password=self.password, dbname="postgres", connect_timeout=3,
                                           autocommit=True)
                conn.execute("INSERT INTO roll_writes (id) VALUES (%s)", (next_id,))
                self.acknowledged.append(next_id)
                next_id += 1
            except psycopg.Error as err:
                self.failures += 1
                self.last_error = str(err).strip()
                next_id += 1  # an id whose write may or may not have landed is never reused
                if conn is not None:
                    conn.close()
                conn = None
                time.sleep(0.2)
            time.sleep(0.05)
        if conn is not None:
            conn.close()


def test_shared_buffers_change_rolls_the_members_without_losing_a_write(env):
    plane, ns = env
    password = _password(plane, ns)
    primary = _primary(ns, password)
    _pg(ns, primary, password, "CREATE TABLE IF NOT EXISTS roll_writes (id int PRIMARY KEY)")
    writer = Writer(ns, password)
    writer.start()
    try:
        _patch_spec(plane, ns, {"postgres": {"parameters": {"shared_buffers": "160MB"}}})

        def rolled():
            values = [_pg(ns, i, password, "SELECT setting::bigint * 8 FROM pg_settings WHERE name = "
                                           "'shared_buffers'")[0][0] for i in range(MEMBERS)]
            return values == [160 * 1024] * MEMBERS

        wait_until(lambda: _safe(rolled), timeout=420, interval=5, what="shared_buffers 160MB on every member")
        time.sleep(2)
    finally:
        writer.stop.set()
        writer.join(timeout=30)
    assert len(writer.acknowledged) > 20, f"the writer made no progress: {writer.last_error}"
    primary = _primary(ns, password)
    stored = {row[0] for row in _pg(ns, primary, password, "SELECT id FROM roll_writes")}
    lost = [i for i in writer.acknowledged if i not in stored]
    assert lost == [], f"{len(lost)} acknowledged writes lost in the roll"
    # Posted when the roll has finished, which may be a moment after the last member restarted; a
    # roll that needed two passes posts one event each, so wait for the one with the switchover.
    messages = wait_until(lambda: "switchover" in " ".join(_events(plane, ns, "RollingRestart"))
                          and " ".join(_events(plane, ns, "RollingRestart")), timeout=120, interval=3,
                          what="a RollingRestart event naming the switchover")
    assert "restarted" in messages and "switchover" in messages
    wait_until(lambda: "postgres.parameters.shared_buffers" not in _runtime_findings(plane, ns), timeout=60,
               interval=3, what="no runtime finding for shared_buffers")


def _safe(check):
    try:
        return check()
    except psycopg.Error:
        return False


def _redis_members(plane, ns: str) -> list[redis.Redis]:
    password = redis_password(plane, ns)
    return [redis.Redis(host=f"{ENV}-redis-{i}.{ENV}-redis-headless.{ns}.svc", port=6379, socket_timeout=5,
                        decode_responses=True, password=password) for i in range(3)]


def _sentinel(plane, ns: str, i: int) -> redis.Redis:
    return redis.Redis(host=f"{ENV}-sentinel-{i}.{ENV}-sentinel-headless.{ns}.svc", port=26379,
                       socket_timeout=5, decode_responses=True, password=redis_password(plane, ns))


def _change_by_hand(plane, ns: str, password: str) -> tuple[int, list[redis.Redis]]:
    """ALTER SYSTEM work_mem on the primary, CONFIG SET maxmemory on every Redis member."""
    primary = _primary(ns, password)
    _pg(ns, primary, password, "ALTER SYSTEM SET work_mem = '1GB'")
    _pg(ns, primary, password, "SELECT pg_reload_conf()")
    members = _redis_members(plane, ns)
    for member in members:
        member.config_set("maxmemory", "100mb")
    return primary, members


def test_hand_made_changes_are_reported_with_the_command_that_undoes_them(env):
    plane, ns = env
    password = _password(plane, ns)
    primary, members = _change_by_hand(plane, ns, password)
    for i in range(3):
        sentinel = _sentinel(plane, ns, i)
        sentinel.execute_command("SENTINEL", "SET", "mymaster", "down-after-milliseconds", "12345")

    def reported():
        found = _runtime_findings(plane, ns)
        wanted = ("postgres.parameters.work_mem", "redis.config.maxmemory", "redis.sentinel.downAfterMilliseconds")
        return found if all(p in found for p in wanted) else None

    found = wait_until(reported, timeout=90, interval=3, what="runtime findings for the three hand-made changes")
    assert "ALTER SYSTEM RESET work_mem" in found["postgres.parameters.work_mem"]["remediation"]
    assert "CONFIG SET maxmemory" in found["redis.config.maxmemory"]["remediation"]
    assert "SENTINEL SET mymaster down-after-milliseconds" in found["redis.sentinel.downAfterMilliseconds"][
        "remediation"]
    assert found["postgres.parameters.work_mem"]["severity"] in ("info", "warning", "critical")
    # Which running member, and both values.
    assert found["postgres.parameters.work_mem"]["member"] == f"{ENV}-postgres-{primary}"
    assert found["redis.config.maxmemory"]["member"].startswith(f"{ENV}-redis-")
    assert found["postgres.parameters.work_mem"]["local"] in ("1GB", "1048576kB")
    assert found["postgres.parameters.work_mem"]["baseline"]
    assert _events(plane, ns, "DriftDetected")
    # Under `report` nothing is reverted: the running values are still the hand-made ones.
    assert _pg(ns, primary, password, "SHOW work_mem")[0][0] == "1GB"
    assert {m.config_get("maxmemory")["maxmemory"] for m in members} == {str(100 * 1024 * 1024)}


def test_enforce_reverts_them_and_says_what_it_changed(env):
    plane, ns = env
    password = _password(plane, ns)
    _patch_spec(plane, ns, {"drift": {"policy": "enforce"}})
    wait_until(lambda: set(_work_mem_everywhere(ns, password)) == {"12288kB"}, timeout=90, interval=3,
               what="work_mem back to the spec's 12MB")
    members = _redis_members(plane, ns)
    wait_until(lambda: {m.config_get("maxmemory")["maxmemory"] for m in members} == {str(256 * 1024 * 1024)},
               timeout=60, interval=3, what="maxmemory back to 256mb on every member")
    for i in range(3):
        sentinel = _sentinel(plane, ns, i)
        master = sentinel.execute_command("SENTINEL", "MASTER", "mymaster")
        values = dict(zip(master[::2], master[1::2])) if isinstance(master, list) else master
        assert str(values["down-after-milliseconds"]) != "12345"
    corrected = " ".join(_events(plane, ns, "DriftCorrected"))
    assert "postgres.parameters.work_mem" in corrected and "(ALTER SYSTEM)" in corrected
    assert "redis.config.maxmemory" in corrected and "redis.sentinel.downAfterMilliseconds" in corrected
    wait_until(lambda: not {"postgres.parameters.work_mem", "redis.config.maxmemory",
                            "redis.sentinel.downAfterMilliseconds"} & set(_runtime_findings(plane, ns)),
               timeout=60, interval=3, what="the runtime findings to clear")


def _pending(plane, ns: str) -> dict[str, dict]:
    corrections = (_status(plane, ns).get("actuation") or {}).get("pendingCorrections") or []
    return {c["path"]: c for c in corrections}


def _parity(plane, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(REPO_ROOT / ".venv" / "bin" / "parity"), *args], capture_output=True, text=True,
                          env={**os.environ, **plane.env()}, timeout=120)


def test_approve_applies_only_what_was_approved_and_only_as_it_was(env):
    plane, ns = env
    password = _password(plane, ns)
    _patch_spec(plane, ns, {"drift": {"policy": "approve"}})
    primary, members = _change_by_hand(plane, ns, password)
    pending = wait_until(lambda: (lambda p: p if {"postgres.parameters.work_mem", "redis.config.maxmemory"} <= set(p)
                                  else None)(_pending(plane, ns)),
                         timeout=90, interval=3, what="both corrections pending")
    assert pending["postgres.parameters.work_mem"]["from"] in ("1GB", "1048576kB")  # as pg_settings says it
    assert "ALTER SYSTEM RESET work_mem" in pending["postgres.parameters.work_mem"]["action"]
    # Not approved: nothing is reverted, pass after pass.
    time.sleep(25)
    assert _pg(ns, primary, password, "SHOW work_mem")[0][0] == "1GB"

    proc = _parity(plane, "drift", "approve", "-n", ns, ENV, "--finding", "postgres.parameters.work_mem")
    assert proc.returncode == 0, proc.stderr
    assert "approved postgres.parameters.work_mem: " in proc.stdout and " → 12MB" in proc.stdout
    wait_until(lambda: _pg(ns, primary, password, "SHOW work_mem")[0][0] == "12MB", timeout=90, interval=3,
               what="the approved correction applied")
    assert {m.config_get("maxmemory")["maxmemory"] for m in members} == {str(100 * 1024 * 1024)}
    assert "redis.config.maxmemory" in _pending(plane, ns)

    # Approved as it was shown (100mb), but changed before the operator acted: not applied.
    stale = _pending(plane, ns)["redis.config.maxmemory"]
    for member in members:
        member.config_set("maxmemory", "90mb")
    wait_until(lambda: _pending(plane, ns).get("redis.config.maxmemory", {}).get("id") not in (None, stale["id"]),
               timeout=90, interval=3, what="the pending correction to show the new running value")
    approval = json.dumps([{"path": stale["path"], "id": stale["id"]}])
    plane.kubectl("annotate", "penv", ENV, "-n", ns, "--overwrite", f"approvals.parity.dev/corrections={approval}")
    time.sleep(30)
    assert {m.config_get("maxmemory")["maxmemory"] for m in members} == {str(90 * 1024 * 1024)}

    # The unknown path is refused with the pending ones listed.
    proc = _parity(plane, "drift", "approve", "-n", ns, ENV, "--finding", "redis.config.nope")
    assert proc.returncode == 1 and "not a pending correction" in proc.stderr


def test_a_redis_setting_that_cannot_change_at_runtime_rolls_the_members(env):
    """`databases` is immutable in a running Redis: the spec change rolls the StatefulSet, and
    every member then runs it, still with one primary that the Sentinels agree on."""
    plane, ns = env
    before = {p["metadata"]["name"]: p["metadata"]["uid"]
              for p in kjson(plane, "get", "pods", "-n", ns, "-l", "app.kubernetes.io/name=redis")["items"]}
    assert _safe_redis(lambda: {m.config_get("databases")["databases"] for m in _redis_members(plane, ns)}) == {"16"}
    _patch_spec(plane, ns, {"redis": {"config": {"databases": "32"}}})
    wait_until(lambda: _safe_redis(lambda: {m.config_get("databases")["databases"]
                                            for m in _redis_members(plane, ns)}) == {"32"},
               timeout=420, interval=5, what="every Redis member running databases 32")
    after = {p["metadata"]["name"]: p["metadata"]["uid"]
             for p in kjson(plane, "get", "pods", "-n", ns, "-l", "app.kubernetes.io/name=redis")["items"]}
    assert set(after) == set(before) and not set(after.values()) & set(before.values())  # every pod replaced
    roles = _safe_redis(lambda: sorted(m.info("replication")["role"] for m in _redis_members(plane, ns)))
    assert roles == ["master", "slave", "slave"]
    wait_until(lambda: _status(plane, ns).get("phase") == "Ready", timeout=180, interval=3, what="Ready again")


def _safe_redis(check):
    try:
        return check()
    except redis.RedisError:
        return None
