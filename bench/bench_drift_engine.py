"""Benchmark: evaluate_drift for one environment with 1,000 PostgreSQL parameters.

The baseline differs in a tenth of the values (some only in spelling, which normalisation
must see through), lacks some keys and has extra ones, and carries a few rules, so every
part of the declared level works. Prints p50/p95 over the trials; asserts nothing about time.

The operator evaluates the same paths at every sync, and the engine keeps what it learnt about
a path (parsed segments, matching rule). `--cold` times instead the first evaluation of each
trial's own parameter names, which no earlier evaluation has seen.

    .venv/bin/python bench/bench_drift_engine.py [--trials 50] [--parameters 1000] [--cold]
"""

from __future__ import annotations

import argparse
import statistics
import time

from parity.api import parse_baseline, parse_environment
from parity.drift.engine import evaluate_drift
from parity.probes.base import ProbeResult


def build(parameters: int, prefix: str = "param"):
    local, remote = {}, {}
    for i in range(parameters):
        name = f"{prefix}_{i:04d}"
        local[name] = str(i)
        if i % 10 == 0:
            remote[name] = str(i + 1)  # a real difference
        elif i % 10 == 1:
            remote[name] = f"{i}.0"  # same number, other spelling
        elif i % 10 != 2:
            remote[name] = str(i)  # same; i % 10 == 2 is missing from the baseline
    for i in range(parameters // 20):
        remote[f"extra_{i:03d}"] = "on"
    local["shared_buffers"], remote["shared_buffers"] = "256MB", "32768"
    env = parse_environment({"postgres": {"version": "15", "parameters": local},
                             "drift": {"ignore": [f"postgres.parameters.{prefix}_0990", "etcd.**"]}})
    baseline = parse_baseline({
        "environment": {"postgres": {"version": "16", "parameters": remote}, "etcd": {"replicas": 5}},
        "rules": [
            {"path": "postgres.version", "severity": "critical"},
            {"path": "postgres.parameters.shared_buffers", "severity": "critical"},
            {"path": "postgres.parameters.*", "severity": "warning", "remediation": "align {path}: {local} -> {baseline}"},
            {"path": "*.resources.**", "severity": "info"},
        ],
    })
    probes = [ProbeResult("postgres", "bench:5432",
                          values={f"postgres.parameters.{prefix}_{i:04d}": str(i) for i in range(0, parameters, 7)})]
    return env, baseline, probes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--parameters", type=int, default=1000)
    parser.add_argument("--cold", action="store_true", help="time first evaluations of fresh parameter names")
    args = parser.parse_args()
    env, baseline, probes = build(args.parameters)
    report = evaluate_drift(env, baseline, "production", probe_results=probes)  # warm-up
    samples = []
    for trial in range(max(args.trials, 1)):
        if args.cold:
            env, baseline, probes = build(args.parameters, prefix=f"trial{trial}")
        start = time.perf_counter()
        evaluate_drift(env, baseline, "production", probe_results=probes)
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    p50 = statistics.median(samples)
    p95 = samples[min(len(samples) - 1, int(round(0.95 * (len(samples) - 1))))]
    print(f"evaluate_drift: {args.parameters} parameters, {len(report.findings)} findings "
          f"({report.summary}), {len(samples)} {'cold ' if args.cold else ''}trials")
    print(f"p50 {p50:.1f} ms   p95 {p95:.1f} ms   min {samples[0]:.1f} ms   max {samples[-1]:.1f} ms")


if __name__ == "__main__":
    main()
