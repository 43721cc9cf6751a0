"""The real node, measured: start to Ready, the local sample to Ready with real processes, the
node's and the sample's memory, and the time `down` takes to leave the host clean.

    .venv/bin/python bench/bench_real_node.py [--trials N]

Needs root and no other real node on the machine (one fits); the binaries and images must be
built (`make deps`). Prints figures; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from support import Operator, wait_until  # noqa: E402

from parity.controlplane import ControlPlane  # noqa: E402
from parity.controlplane.nodeconfig import CLUSTER_DNS_IP  # noqa: E402

NODE = ("containerd", "kubelet", "kube-proxy", "coredns")


def rss_by_command() -> dict[str, int]:
    """Resident memory (KiB) summed per command name, over every process on the machine."""
    totals: dict[str, int] = defaultdict(int)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = dict(line.split(":", 1) for line in (entry / "status").read_text().splitlines() if ":" in line)
        except OSError:
            continue
        if "VmRSS" in status:
            totals[status["Name"].strip()] += int(status["VmRSS"].split()[0])
    return totals


def catalog() -> str:
    proc = subprocess.run([str(REPO / ".venv" / "bin" / "parity"), "images", "catalog", "--write"],
                          capture_output=True, text=True, check=True)
    return proc.stdout.strip().splitlines()[-1]


def one_trial(with_sample: bool) -> dict:
    figures: dict = {}
    with tempfile.TemporaryDirectory(prefix="parity-bench-node-") as tmp:
        plane = ControlPlane(Path(tmp) / "cluster", node="real")
        baseline_rss = rss_by_command()
        start = time.monotonic()
        plane.start(timeout=300)
        figures["node_ready_s"] = time.monotonic() - start
        try:
            if with_sample:
                plane.kubectl("apply", "--server-side", "-k", str(REPO / "crds"))
                plane.wait_established(
                              "crd/parityenvironments.parity.dev")
                plane.kubectl("apply", "--server-side", "-f", str(REPO / "baselines"))
                op = Operator(plane, Path(tmp) / "operator.log", env={
                    "PARITY_RUNTIME_PROBES": "on", "PARITY_IMAGE_CATALOG": catalog(),
                    "PARITY_CLUSTER_DNS": CLUSTER_DNS_IP})
                op.start()
                op.wait_ready()
                start = time.monotonic()
                plane.kubectl("apply", "-k", str(REPO / "manifests" / "overlays" / "local"))

                def ready():
                    out = plane.kubectl("get", "penv", "dev", "-o", "jsonpath={.status.phase}", check=False)
                    return out.stdout.strip() == "Ready"

                wait_until(ready, timeout=900, interval=2, what="the sample Ready")
                figures["sample_ready_s"] = time.monotonic() - start
                time.sleep(30)  # let start-up bursts settle before reading memory
                rss = rss_by_command()
                grown = {name: kib - baseline_rss.get(name, 0) for name, kib in rss.items()}
                figures["node_rss_mib"] = {n: round(grown.get(n, 0) / 1024, 1) for n in NODE}
                figures["shims_rss_mib"] = round(grown.get("containerd-shim", 0) / 1024, 1)
                workloads = ("postgres", "patroni", "etcd", "redis-server", "redis-sentinel", "prometheus",
                             "prometheus-post", "prometheus-redi")
                figures["workloads_rss_mib"] = {n: round(grown.get(n, 0) / 1024, 1) for n in workloads
                                                if grown.get(n, 0) > 0}
                op.stop()
        finally:
            start = time.monotonic()
            problems = plane.stop()
            figures["down_s"] = time.monotonic() - start
            figures["down_problems"] = problems
    return figures


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=3, help="node start/stop trials (the first also runs the sample)")
    args = parser.parse_args()
    results = [one_trial(with_sample=(i == 0)) for i in range(args.trials)]
    ready = [r["node_ready_s"] for r in results]
    down = [r["down_s"] for r in results]
    print(f"control plane + real node, start to Ready: p50 {statistics.median(ready):.1f} s, "
          f"max {max(ready):.1f} s (n={len(ready)})")
    print(f"down (stop + undo host changes): p50 {statistics.median(down):.1f} s (n={len(down)}); "
          f"problems left: {sum(len(r['down_problems']) for r in results)}")
    first = results[0]
    if "sample_ready_s" in first:
        print(f"local sample apply -> Ready (real processes, cold volumes): {first['sample_ready_s']:.1f} s")
        print(f"node processes RSS (MiB): {json.dumps(first['node_rss_mib'])}; shims {first['shims_rss_mib']} MiB")
        print(f"sample workloads RSS (MiB): {json.dumps(first['workloads_rss_mib'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
