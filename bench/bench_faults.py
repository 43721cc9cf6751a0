"""Operator recovery from control-plane faults on the local control plane (kwok node).

For the API server and for etcd, N times: apply a spec change to a Ready environment, restart
the process 0.3 s later (it stays down 2 s), then time
  * away:     from the stop to the process answering its health check again;
  * catch-up: from it being back to the environment Ready at the new generation with the
              change in status (the operator recovering on its own; tests/integration/
              test_operator_faults.py holds it to 30 s as a correctness bound).
Prints p50/max per process.

Usage: .venv/bin/python bench/bench_faults.py [--trials 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from support import Operator  # noqa: E402

from parity import constants  # noqa: E402
from parity.controlplane import ControlPlane, find_binaries  # noqa: E402


def environment(replicas: int) -> dict:
    return {"apiVersion": f"{constants.GROUP}/{constants.VERSION}", "kind": "ParityEnvironment",
            "metadata": {"name": "bench"},
            "spec": {"baselineRef": {"name": "production"}, "etcd": {"replicas": 1},
                     "postgres": {"replicas": replicas, "version": "16", "storage": {"size": "1Gi"}},
                     "redis": {"mode": "standalone", "replicas": 1}, "observability": {"enabled": False}}}


def caught_up(plane: ControlPlane, namespace: str, replicas: int, timeout: float = 120.0) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        proc = plane.kubectl("get", "penv", "bench", "-n", namespace, "-o", "json", check=False)
        if proc.returncode == 0:
            env = json.loads(proc.stdout)
            status = env.get("status") or {}
            postgres = (status.get("components") or {}).get("postgres") or {}
            if (status.get("phase") == "Ready" and status.get("observedGeneration") == env["metadata"]["generation"]
                    and postgres.get("desired") == postgres.get("ready") == replicas):
                return time.monotonic() - started
        time.sleep(0.2)
    raise TimeoutError(f"status did not catch up within {timeout:.0f}s")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="parity-bench-faults-") as tmp:
        plane = ControlPlane(Path(tmp) / "plane", bin_dir=find_binaries())
        plane.start(timeout=180)
        op = Operator(plane, Path(tmp) / "operator.log", env={"PARITY_RESYNC_SECONDS": "600"})
        try:
            plane.kubectl("apply", "--server-side", "-k", str(REPO / "crds"))
            for _ in range(60):  # a CRD just created has no conditions yet: `kubectl wait` errors then
                if plane.kubectl("wait", "--for=condition=Established", "--timeout=30s", "crd/parityenvironments.parity.dev",
                                 "crd/paritybaselines.parity.dev", check=False).returncode == 0:
                    break
                time.sleep(1)
            plane.kubectl("apply", "--server-side", "-f", str(REPO / "baselines"))
            plane.kubectl("apply", "--server-side", "-f", str(REPO / "manifests/operator/patroni-rbac.yaml"))
            plane.kubectl("create", "namespace", "bench")
            op.start()
            op.wait_ready()
            replicas = 1
            plane.kubectl("apply", "-n", "bench", "-f", "-", input=json.dumps(environment(replicas)))
            caught_up(plane, "bench", replicas)
            for process in ("kube-apiserver", "etcd"):
                away, catch = [], []
                for _ in range(args.trials):
                    replicas = 3 - replicas  # 1 <-> 2
                    plane.kubectl("apply", "-n", "bench", "-f", "-", input=json.dumps(environment(replicas)))
                    time.sleep(0.3)
                    away.append(plane.restart(process, down_seconds=2))
                    catch.append(caught_up(plane, "bench", replicas))
                print(f"{process:<15} n={args.trials}  away p50={statistics.median(away):5.1f}s "
                      f"max={max(away):5.1f}s  status caught up p50={statistics.median(catch):5.1f}s "
                      f"max={max(catch):5.1f}s after it was back")
        finally:
            op.stop()
            plane.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
