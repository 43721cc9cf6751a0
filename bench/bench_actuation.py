"""Spec changes and runtime drift on the real node, measured against the environment `make up` runs.

    make up                                   # the local sample `dev` in namespace default
    .venv/bin/python bench/bench_actuation.py [--trials N] [--namespace NS] [--name NAME] [--drill]

Prints, as p50/p95 over the trials:
- spec change → effective: `spec.postgres.parameters.work_mem` patched until every member's
  pg_settings shows the new value (the operator's update handler pushes it with PATCH /config;
  Patroni applies it within one loop_wait);
- runtime drift → status: `CONFIG SET maxmemory` on the Redis members until status.drift lists
  the runtime finding (bounded by the operator's resync interval, PARITY_RESYNC_SECONDS);
- with --drill, `parity drill failover` and `parity drill redis-failover` against the environment
  (time without a writable primary, acknowledged writes lost).
Restores every value it changed. Asserts nothing about time.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STATE = REPO / ".parity" / "cluster"
sys.path.insert(0, str(REPO / "operator"))

import psycopg  # noqa: E402
import redis  # noqa: E402

from parity.controlplane import ControlPlane  # noqa: E402
from parity.controlplane.nodeconfig import CLUSTER_DNS_IP  # noqa: E402
from parity.probes import clusterdns  # noqa: E402


def percentiles(values: list[float]) -> str:
    if not values:
        return "no samples"
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"p50 {statistics.median(ordered):.1f} s, p95 {p95:.1f} s, n={len(ordered)}"


class Env:
    def __init__(self, plane: ControlPlane, namespace: str, name: str):
        self.plane, self.ns, self.name = plane, namespace, name

    def get(self) -> dict:
        return json.loads(self.plane.kubectl("get", "penv", self.name, "-n", self.ns, "-o", "json").stdout)

    def patch(self, spec: dict) -> None:
        self.plane.kubectl("patch", "penv", self.name, "-n", self.ns, "--type=merge", "-p", json.dumps({"spec": spec}))

    def password(self) -> str:
        secret = json.loads(self.plane.kubectl("get", "secret", f"{self.name}-postgres-credentials", "-n", self.ns,
                                               "-o", "json").stdout)
        return base64.b64decode(secret["data"]["superuser-password"]).decode()

    def members(self) -> int:
        return int(self.get()["spec"].get("postgres", {}).get("replicas", 3))

    def work_mem(self, i: int, password: str) -> str | None:
        try:
            with psycopg.connect(host=f"{self.name}-postgres-{i}.{self.name}-postgres.{self.ns}.svc", user="postgres",
                                 password=password, dbname="postgres", connect_timeout=3) as conn:
                return conn.execute("SHOW work_mem").fetchone()[0]
        except psycopg.Error:
            return None


def wait(predicate, timeout: float, step: float = 0.5) -> float | None:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return time.monotonic() - start
        time.sleep(step)
    return None


def bench_spec_change(env: Env, trials: int) -> list[float]:
    password = env.password()
    members = env.members()
    original = env.get()["spec"]["postgres"]["parameters"].get("work_mem", "4MB")
    samples = []
    try:
        for trial in range(trials):
            value = f"{5 + trial}MB"
            env.patch({"postgres": {"parameters": {"work_mem": value}}})
            start = time.monotonic()
            took = wait(lambda: all(env.work_mem(i, password) == value for i in range(members)), timeout=180)
            if took is None:
                print(f"  trial {trial}: work_mem={value} not effective within 180 s")
                continue
            samples.append(time.monotonic() - start)
    finally:
        env.patch({"postgres": {"parameters": {"work_mem": original}}})
    return samples


def bench_runtime_drift(env: Env, trials: int) -> list[float]:
    # On every member: the probe reads Redis settings on the primary, wherever it is now.
    members = [redis.Redis(host=f"{env.name}-redis-{i}.{env.name}-redis-headless.{env.ns}.svc", port=6379,
                           socket_timeout=5, decode_responses=True) for i in range(3)]
    # Put back the spec's value, not whatever runs now (an interrupted run may have left its own).
    original = str(env.get()["spec"]["redis"]["config"].get("maxmemory", "0"))

    class All:
        @staticmethod
        def config_set(key: str, value: str) -> None:
            for one in members:
                one.config_set(key, value)

    member = All()

    def finding() -> bool:
        findings = (env.get().get("status") or {}).get("drift", {}).get("findings") or []
        return any(f.get("level") == "runtime" and f.get("path") == "redis.config.maxmemory" for f in findings)

    samples = []
    member.config_set("maxmemory", original)
    wait(lambda: not finding(), timeout=120, step=1)
    try:
        for trial in range(trials):
            member.config_set("maxmemory", str(90_000_000 + trial))
            took = wait(finding, timeout=240, step=1)
            if took is None:
                print(f"  trial {trial}: no runtime finding within 240 s")
            else:
                samples.append(took)
            member.config_set("maxmemory", original)
            wait(lambda: not finding(), timeout=240, step=1)
    finally:
        member.config_set("maxmemory", original)
    return samples


def drill(env: Env, kind: str) -> dict:
    proc = subprocess.run([str(REPO / ".venv" / "bin" / "parity"), "drill", kind, "-n", env.ns, env.name, "-o", "json"],
                          capture_output=True, text=True, env={**os.environ, "KUBECONFIG": str(STATE / "kubeconfig")},
                          timeout=600)
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError:
        return {"error": (proc.stderr or proc.stdout).strip()[-400:], "exit": proc.returncode}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--namespace", default="default")
    parser.add_argument("--name", default="dev")
    parser.add_argument("--drill", action="store_true", help="also run the failover drills")
    args = parser.parse_args()
    plane = ControlPlane(STATE)
    if not (STATE / "pids.json").exists() or not plane.running() or plane.node_kind != "real":
        print("no real node from `make up` is running: start one with `make up` first")
        return 1
    os.environ.setdefault(clusterdns.CLUSTER_DNS_ENV, CLUSTER_DNS_IP)
    clusterdns.install_from_env()
    env = Env(plane, args.namespace, args.name)
    print(f"environment {args.namespace}/{args.name}, operator resync PARITY_RESYNC_SECONDS="
          f"{os.environ.get('PARITY_RESYNC_SECONDS', 'as make up started it')}")
    print("spec change → work_mem effective on every member:", percentiles(bench_spec_change(env, args.trials)))
    print("CONFIG SET maxmemory by hand → runtime finding in status:", percentiles(bench_runtime_drift(env, args.trials)))
    if args.drill:
        for kind in ("failover", "redis-failover"):
            print(f"parity drill {kind}:", json.dumps(drill(env, kind)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
