"""Benchmark: failover drills against real local clusters.

Starts the same servers the runtime tests use (etcd ×3, Patroni/PostgreSQL 15 ×3, Redis ×3 +
Sentinel ×3, all on 127.0.0.1), then runs the Patroni drill with synchronous_mode on, with it
off, and the Redis Sentinel drill, each `--runs` times (the killed node is restarted and the
cluster made whole between runs). Prints, per kind, the time without a writable primary
(p50/max), the time until the new leader was visible (p50/max) and the acknowledged writes lost
per run. Asserts nothing about time.

    .venv/bin/python bench/bench_failover.py [--runs 3] [--ttl 10] [--loop-wait 2] [--retry-timeout 4]
        [--down-after-ms 1000] [--only patroni-sync,patroni-async,redis] [--json]

Failover time is dominated by Patroni's ttl (the old leader's lock must expire) and by
Sentinel's down-after-milliseconds; both are options so their effect can be measured.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "runtime"))

import servers  # noqa: E402

from parity.drill.common import DrillSettings  # noqa: E402
from parity.drill.killers import LocalProcessKiller  # noqa: E402
from parity.drill.patroni import run_patroni_drill  # noqa: E402
from parity.drill.redis import run_redis_drill  # noqa: E402

KINDS = ("patroni-sync", "patroni-async", "redis")


def summarize(reports: list[dict]) -> dict:
    def stats(key):
        values = [r[key] for r in reports if r.get(key) is not None]
        if not values:
            return {"p50": None, "max": None}
        return {"p50": round(statistics.median(values), 3), "max": round(max(values), 3)}

    return {
        "runs": len(reports),
        "passed": sum(1 for r in reports if r["passed"]),
        "unavailable_seconds": stats("unavailable_seconds"),
        "leader_elected_seconds": stats("leader_elected_seconds"),
        "acked_writes": [r["acked_writes"] for r in reports],
        "lost_acked_writes": [r["lost_acked_writes"] for r in reports],
        "errors": [r["error"] for r in reports if r["error"]],
    }


def set_synchronous(patroni: servers.PatroniCluster, on: bool) -> None:
    # Restart what the previous run killed without insisting on a sync standby, then switch.
    patroni.synchronous_mode = False
    patroni.ensure_healthy()
    patroni.patch_config({"synchronous_mode": on})
    patroni.synchronous_mode = on
    servers.wait_until(
        lambda: patroni.dcs_config().get("synchronous_mode") is on
        and any(m["role"] == "sync_standby" for m in patroni.cluster_state()["members"]) is on,
        60,
        f"synchronous_mode {'on' if on else 'off'}",
    )
    patroni.wait_healthy()


def run_kind(kind: str, patroni, redis, runs: int, settings: DrillSettings) -> list[dict]:
    reports = []
    for i in range(runs):
        if kind == "redis":
            redis.ensure_healthy()
            report = asyncio.run(run_redis_drill(redis.sentinel_addresses, redis.master_group, LocalProcessKiller(), settings=settings))
        else:
            set_synchronous(patroni, kind == "patroni-sync")
            report = asyncio.run(run_patroni_drill(patroni.api_urls, patroni.dsn_without_host, LocalProcessKiller(), settings))
        data = report.to_dict()
        reports.append(data)
        print(
            f"  {kind} run {i + 1}/{runs}: {data['old_leader']} → {data['new_leader']}  "
            f"without primary {data['unavailable_seconds']}s  leader visible {data['leader_elected_seconds']}s  "
            f"acked {data['acked_writes']}  lost {data['lost_acked_writes']}" + (f"  ERROR {data['error']}" if data["error"] else ""),
            file=sys.stderr,
            flush=True,
        )
    return reports


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--ttl", type=int, default=10)
    parser.add_argument("--loop-wait", type=int, default=2)
    parser.add_argument("--retry-timeout", type=int, default=4)
    parser.add_argument("--down-after-ms", type=int, default=1000)
    parser.add_argument("--only", default=",".join(KINDS), help=f"comma-separated subset of {', '.join(KINDS)}")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args()
    kinds = [k for k in args.only.split(",") if k]
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        parser.error(f"--only: unknown {', '.join(unknown)}; choose from {', '.join(KINDS)}")

    servers.check_binaries()
    base = servers.make_base_dir("parity-bench-")
    reaper = servers.Reaper(base)
    reaper.start()
    etcd = servers.EtcdCluster(base / "etcd", binary=servers.find_etcd_binary(), registry=reaper.registry)
    patroni = redis = None
    settings = DrillSettings(interval=0.02, warmup_writes=20, settle_seconds=1.0, timeout=120)
    summary = {}
    try:
        if any(k.startswith("patroni") for k in kinds):
            etcd.start()
            patroni = servers.PatroniCluster(
                base / "patroni", etcd.endpoints, ttl=args.ttl, loop_wait=args.loop_wait, retry_timeout=args.retry_timeout, registry=reaper.registry
            )
            patroni.start()
        if "redis" in kinds:
            redis = servers.RedisCluster(base / "redis", down_after_ms=args.down_after_ms, registry=reaper.registry)
            redis.start()
        for kind in kinds:
            summary[kind] = summarize(run_kind(kind, patroni, redis, args.runs, settings))
    finally:
        for cluster in (redis, patroni, etcd):
            if cluster is not None:
                cluster.stop()
        reaper.stop(remove=True)

    settings_line = f"ttl={args.ttl}s loop_wait={args.loop_wait}s retry_timeout={args.retry_timeout}s down-after={args.down_after_ms}ms"
    if args.json:
        print(json.dumps({"settings": settings_line, "results": summary}, indent=2))
        return 0
    print(f"failover drills, {args.runs} run(s) each ({settings_line})")
    print(f"  {'kind':<14} {'passed':>7} {'no-primary p50':>15} {'max':>7} {'leader p50':>11} {'max':>7}  lost acked writes per run")
    for kind, s in summary.items():
        u, e = s["unavailable_seconds"], s["leader_elected_seconds"]
        print(
            f"  {kind:<14} {s['passed']:>3}/{s['runs']:<3} {u['p50'] or '-':>14}s {u['max'] or '-':>6}s "
            f"{e['p50'] or '-':>10}s {e['max'] or '-':>6}s  {s['lost_acked_writes']} of {s['acked_writes']}"
        )
        for error in s["errors"]:
            print(f"    error: {error}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
