"""Chaos experiments, repeated, against the environment `make up` runs on the real node.

    make up
    .venv/bin/python bench/bench_chaos.py [--runs 3] [--namespace default] [--name dev]
        [--experiment redis-freeze ...] [--duration 10] [--seed 100]

Per experiment, over the runs (seeds seed, seed+1, ...): time without a writable primary (p50 and
max), acknowledged writes lost (total of all runs), time to heal (p50 and max: the old master or
primary back as a replica, or writes accepted again after etcd's quorum returned), and the runs
whose invariants did not all hold. Asserts nothing about time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

from makeup_cluster import STATE, parity_json
EXPERIMENTS = ("redis-freeze", "patroni-partition", "etcd-member-loss")


def run(experiment: str, ns: str, name: str, seed: int, duration: float) -> dict:
    report = parity_json("chaos", "run", experiment, "-n", ns, name, "--seed", str(seed), "--duration", str(duration),
                         timeout=1200)
    return {"seed": seed, **report}


def p50_max(values: list[float]) -> dict | None:
    return {"p50": round(statistics.median(values), 2), "max": round(max(values), 2)} if values else None


def numbers(reports: list[dict], key: str) -> list[float]:
    return [r["figures"][key] for r in reports if isinstance(r.get("figures", {}).get(key), (int, float))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--namespace", default="default")
    parser.add_argument("--name", default="dev")
    parser.add_argument("--experiment", action="append", choices=EXPERIMENTS)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=100)
    parser.add_argument("--pause", type=float, default=20.0, help="seconds between runs, for the environment to settle")
    args = parser.parse_args()
    if not (STATE / "kubeconfig").exists():
        print("no cluster from `make up` (.parity/cluster): start one with `make up` first")
        return 1
    for experiment in args.experiment or EXPERIMENTS:
        reports = []
        for i in range(args.runs):
            if i:
                time.sleep(args.pause)
            reports.append(run(experiment, args.namespace, args.name, args.seed + i, args.duration))
        summary = {
            "runs": len(reports),
            "seeds": [r.get("seed") for r in reports],
            "without_writable_primary_s": p50_max(numbers(reports, "without_writable_primary_seconds")),
            "acked_writes_lost": sum(numbers(reports, "acked_writes_lost")),
            "acked_writes": sum(numbers(reports, "acked_writes")),
            "heal_s": p50_max(numbers(reports, "heal_seconds")),
            "broken": [{"seed": r.get("seed"), "error": r.get("error"),
                        "invariants": [i["name"] for i in r.get("invariants", []) if not i["held"]]}
                       for r in reports if r.get("error") or not all(i["held"] for i in r.get("invariants", []))],
        }
        print(f"parity chaos run {experiment}:", json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
