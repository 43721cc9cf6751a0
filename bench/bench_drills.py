"""Failover drills, repeated, against the environment `make up` runs on the real node.

    make up
    .venv/bin/python bench/bench_drills.py [--runs 3] [--namespace default] [--name dev]
        [--drill failover --drill redis-failover] [--kill pod --kill process]

For each drill and kill mode, prints over the runs: time without a writable primary (p50 and
max), the time until the leader after the kill acknowledged a write (p50, max), acknowledged
writes lost (total), how often the killed member led again, and failed runs with their reason.
Asserts nothing about time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

from makeup_cluster import STATE, parity_json


def run_drill(kind: str, kill: str, ns: str, name: str) -> dict:
    return parity_json("drill", kind, "-n", ns, name, "--kill", kill)


def summary(reports: list[dict]) -> dict:
    ok = [r for r in reports if r.get("error") is None]
    outage = [r["unavailable_seconds"] for r in ok if r.get("unavailable_seconds") is not None]
    leader = [r["leader_elected_seconds"] for r in ok if r.get("leader_elected_seconds") is not None]

    def p50_max(values):
        return {"p50": round(statistics.median(values), 2), "max": round(max(values), 2)} if values else None

    return {
        "runs": len(reports),
        "without_writable_primary_s": p50_max(outage),
        "leader_after_kill_s": p50_max(leader),
        "acked_writes_lost": sum(r.get("lost_acked_writes", 0) for r in ok),
        "acked_writes": sum(r.get("acked_writes", 0) for r in ok),
        "same_member_led_again": sum(1 for r in ok if r.get("same_leader_returned")),
        "failed": [r.get("error") for r in reports if r.get("error") is not None],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--namespace", default="default")
    parser.add_argument("--name", default="dev")
    parser.add_argument("--drill", action="append", choices=("failover", "redis-failover"))
    parser.add_argument("--kill", action="append", choices=("pod", "process"))
    parser.add_argument("--pause", type=float, default=20.0, help="seconds between runs, for the cluster to settle")
    args = parser.parse_args()
    if not (STATE / "kubeconfig").exists():
        print("no cluster from `make up` (.parity/cluster): start one with `make up` first")
        return 1
    for kind in args.drill or ["failover", "redis-failover"]:
        for kill in args.kill or ["pod", "process"]:
            reports = []
            for run in range(args.runs):
                if run or reports:
                    time.sleep(args.pause)
                reports.append(run_drill(kind, kill, args.namespace, args.name))
            print(f"parity drill {kind} --kill {kill}:", json.dumps(summary(reports)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
