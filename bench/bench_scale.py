"""Scale: N sample environments in one operator process, against the API server's own pace.

    .venv/bin/python bench/bench_scale.py [--envs 20] [--changes 20] [--resync 30] [--observability]
    # the full run the targets speak of: --envs 1000 (about 80 minutes on 2 cores; kwok nodes are added)
    # what the operator's memory holds, by allocation site (slow; its times are not figures):
    .venv/bin/python bench/bench_scale.py --envs 100 --memory-sites

On a private local control plane (real API server, kwok nodes: pods become Running without
running), in one run:
- floor: the children the operator renders for N environments, applied without the operator by
  8 parallel server-side apply clients, until every workload is ready;
- operator: N ParityEnvironments created at once, until every one is Ready; the ratio to the floor;
  the API requests and Events of each phase by kind, and the operator's syncs by trigger;
- operator RSS and peak RSS (VmRSS / VmHWM) with N environments;
- change → updated status with N present, p50/p95: a spec edit (status.observedGeneration), a
  baseline edit (status.drift.baselineGeneration; a baseline that environment alone compares
  with, so that the figure is the change's latency, not the fan-out's queue) and a child edit
  (a live finding);
- fan-out: one baseline edit until all N environments compared against its new generation;
- a no-op resync window (two resync periods, nothing changed): write requests the API server
  counted (its own /metrics apiserver_request_total, not the operator's counters), per environment
  per 10 minutes, and API requests per sync (all verbs, over the syncs the operator counted);
  what the pods did meanwhile (status writes there are kwok's and the controllers', and each
  changes what status must say).
The sample is the published one with observability off unless --observability: a lighter shape,
said in the output with its pod count. Asserts nothing about time.
"""

from __future__ import annotations

import argparse
import collections
import copy
import datetime as dt
import math
import os
import statistics
import sys
import tempfile
import threading
from typing import NamedTuple
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from support import Operator  # noqa: E402

from bench_operator import poll, pct  # noqa: E402  (the waits and percentiles the operator bench uses)

from parity import constants  # noqa: E402
from parity.api import parse_environment  # noqa: E402
from parity.controlplane import ControlPlane, find_binaries  # noqa: E402
from parity.kube import resources  # noqa: E402
from parity.kube.apply import apply_object  # noqa: E402
from parity.kube.client import Kube  # noqa: E402
from parity.render.environment import build_children  # noqa: E402

PODS_PER_KWOK_NODE = 1000
APPLIERS = 8
WRITE_VERBS = ("POST", "PUT", "PATCH", "DELETE", "APPLY")
OPERATOR_RESOURCES = {"parityenvironments", "events", "statefulsets", "deployments", "services", "configmaps",
                      "secrets", "serviceaccounts", "rolebindings", "poddisruptionbudgets", "networkpolicies",
                      "policyreports"}


def sample_manifest(observability: bool) -> dict:
    sample = yaml.safe_load((REPO / "manifests/samples/dev.yaml").read_text())
    sample["spec"].setdefault("observability", {})["enabled"] = observability
    return sample


def workloads_of(sample: dict) -> list[dict]:
    """The StatefulSets and Deployments one environment of this shape renders."""
    spec = parse_environment(sample["spec"], source="sample")
    return [o for o in build_children("dev", "ns", "uid", spec, secret_values=None)
            if o["kind"] in ("StatefulSet", "Deployment")]


def pods_per_environment(sample: dict) -> int:
    """The pods one environment runs: its workloads' replicas, as rendered."""
    return sum(o["spec"].get("replicas", 1) for o in workloads_of(sample))


def add_kwok_nodes(plane: ControlPlane, pods: int) -> int:
    nodes = max(1, math.ceil(pods * 1.2 / PODS_PER_KWOK_NODE))
    for i in range(1, nodes):
        name = f"kwok-node-{i}"
        node = {"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": name, "annotations": {"kwok.x-k8s.io/node": "fake",
                                                           "node.alpha.kubernetes.io/ttl": "0"},
                             "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                                        "kubernetes.io/arch": "amd64", "type": "kwok"}},
                "spec": {},
                "status": {"allocatable": {"cpu": "64", "memory": "256Gi", "pods": str(PODS_PER_KWOK_NODE)},
                           "capacity": {"cpu": "64", "memory": "256Gi", "pods": str(PODS_PER_KWOK_NODE)}}}
        plane.kubectl("apply", "-f", "-", input=yaml.safe_dump(node))
    return nodes


def create_namespaces(kube: Kube, prefix: str, n: int) -> list[str]:
    names = [f"{prefix}-{i}" for i in range(n)]
    for ns in names:
        kube.request("POST", "/api/v1/namespaces", body={"apiVersion": "v1", "kind": "Namespace",
                                                          "metadata": {"name": ns}})
    return names


# The label every child the operator renders carries (the floor's copies carry it too, until deleted).
OPERATOR_CHILDREN = f"{constants.LABEL_MANAGED_BY}={constants.MANAGED_BY}"


def created_at(obj: dict) -> float:
    import datetime as dt

    return dt.datetime.fromisoformat(obj["metadata"]["creationTimestamp"].replace("Z", "+00:00")).timestamp()


def last_workload_created(kube: Kube, selector: str, started_wall: float) -> float:
    """Seconds from `started_wall` (time.time()) until the last workload was created: how long
    the applying took, apart from the controllers' and kwok's work after it (1 s resolution)."""
    stamps = [created_at(o) for path in ("/apis/apps/v1/statefulsets", "/apis/apps/v1/deployments")
              for o in kube.request("GET", path, query=[("labelSelector", selector)]).get("items", [])]
    return max(stamps) - started_wall if stamps else float("nan")


def apply_spans(kube: Kube, namespaces: list[str]) -> str:
    """Per environment, from its creation to its first child's, and from its first child's to its
    last (creationTimestamps, 1 s resolution): queueing before a sync vs the sync's own applying."""
    created = {o["metadata"]["namespace"]: created_at(o) for o in env_statuses(kube)}
    children: dict[str, list[float]] = {}
    for resource in resources.CHILD_RESOURCES:
        if resource.kind == "Secret":
            continue  # not listable by label for every cluster's RBAC; the others suffice
        for obj in kube.request("GET", resource.collection_path(), query=[("labelSelector", OPERATOR_CHILDREN)]).get("items", []):
            children.setdefault(obj["metadata"]["namespace"], []).append(created_at(obj))
    waits = sorted(min(children[ns]) - created[ns] for ns in namespaces if ns in children and ns in created)
    spans = sorted(max(children[ns]) - min(children[ns]) for ns in namespaces if ns in children)
    if not waits:
        return "no children found"
    return (f"environment created -> first child: p50 {statistics.median(waits):.0f} s, max {waits[-1]:.0f} s; "
            f"first -> last child: p50 {statistics.median(spans):.0f} s, max {spans[-1]:.0f} s")


def workloads_ready(kube: Kube, selector: str, expected: int) -> bool:
    ready = 0
    for path in ("/apis/apps/v1/statefulsets", "/apis/apps/v1/deployments"):
        for obj in kube.request("GET", path, query=[("labelSelector", selector)]).get("items", []):
            want = obj["spec"].get("replicas", 1)
            status = obj.get("status") or {}
            if (status.get("readyReplicas") or 0) >= want and status.get("observedGeneration") == \
                    obj["metadata"]["generation"]:
                ready += 1
    return ready >= expected


def bench_floor(plane: ControlPlane, sample: dict, n: int) -> float:
    """The rendered children of N environments applied by parallel SSA clients (no owner: an owner
    that does not exist would have them collected), until every workload is ready."""
    spec = parse_environment(sample["spec"], source="sample")
    namespaces = create_namespaces(Kube.connect(str(plane.kubeconfig)), "floor", n)
    objects = []
    for ns in namespaces:
        for obj in build_children("dev", ns, "00000000-0000-0000-0000-000000000000", spec):
            obj = copy.deepcopy(obj)
            obj["metadata"].pop("ownerReferences", None)
            obj["metadata"].setdefault("labels", {})["bench.parity.dev/floor"] = "true"
            objects.append(obj)
    workloads = sum(1 for o in objects if o["kind"] in ("StatefulSet", "Deployment"))
    local = threading.local()

    def apply(obj: dict) -> None:
        if not hasattr(local, "kube"):
            local.kube = Kube.connect(str(plane.kubeconfig))
        apply_object(local.kube, obj)

    kube = Kube.connect(str(plane.kubeconfig))
    requests0 = apiserver_request_counts(plane)
    busy0 = machine_busy()
    start, started_wall = time.monotonic(), time.time()
    with ThreadPoolExecutor(APPLIERS) as pool:
        list(pool.map(apply, objects))
    poll(lambda: workloads_ready(kube, "bench.parity.dev/floor=true", workloads), timeout=3600, interval=1)
    elapsed = time.monotonic() - start
    print(f"  floor: last workload created after {last_workload_created(kube, 'bench.parity.dev/floor=true', started_wall):.0f} s; "
          f"{busy_since(busy0)}", flush=True)
    print(f"  floor's API requests: {request_summary(requests0, apiserver_request_counts(plane), n)}", flush=True)
    print(f"  floor's Events (reporter kind reason: occurrences): "
          f"{events_since(kube, whole_second(started_wall), prefix='floor-', top=12, occurrences=True)}", flush=True)
    for ns in namespaces:  # out of the way of the operator's run
        kube.request("DELETE", f"/api/v1/namespaces/{ns}")
    poll(lambda: not [x for x in kube.request("GET", "/api/v1/namespaces").get("items", [])
                      if x["metadata"]["name"].startswith("floor-")], timeout=1800, interval=2)
    kube.close()
    return elapsed


def env_statuses(kube: Kube) -> list[dict]:
    items = kube.request("GET", resources.ENVIRONMENT.collection_path()).get("items", [])
    return [i for i in items if i["metadata"]["namespace"].startswith("op-")]


def bench_operator(plane: ControlPlane, kube: Kube, sample: dict, namespaces: list[str], workloads: int) -> float:
    """Until every environment says Ready. On the way it prints when every workload the operator
    applied was ready (the floor's own finish line) and what the API server served meanwhile:
    the gap between the two is the operator's status lag, the rest its applying pace."""
    requests0 = apiserver_request_counts(plane)
    busy0 = machine_busy()
    start, started_wall = time.monotonic(), time.time()
    for ns in namespaces:
        manifest = copy.deepcopy(sample)
        manifest["metadata"] = {"name": "dev", "namespace": ns}
        kube.request("POST", resources.ENVIRONMENT.collection_path(ns), body=manifest)
    marks: dict[str, float] = {}

    def converged() -> bool:
        if "workloads" not in marks and workloads_ready(kube, OPERATOR_CHILDREN, workloads * len(namespaces)):
            marks["workloads"] = time.monotonic() - start
        items = env_statuses(kube)
        return "workloads" in marks and len(items) == len(namespaces) and \
            all((i.get("status") or {}).get("phase") == "Ready" for i in items)

    poll(converged, timeout=7200, interval=2)
    elapsed = time.monotonic() - start
    print(f"  operator: last workload created after {last_workload_created(kube, OPERATOR_CHILDREN, started_wall):.0f} s, "
          f"every workload ready after {marks['workloads']:.1f} s, every status Ready after {elapsed:.1f} s", flush=True)
    print(f"  operator: {apply_spans(kube, namespaces)}; {busy_since(busy0)}", flush=True)
    print(f"  operator's run, API requests: "
          f"{request_summary(requests0, apiserver_request_counts(plane), len(namespaces))}", flush=True)
    print(f"  operator's run, Events (reporter kind reason: occurrences): "
          f"{events_since(kube, whole_second(started_wall), top=12, occurrences=True)}", flush=True)
    return elapsed


def metric_label(line: str, name: str) -> str:
    """The value of label `name` in one Prometheus text line ("" when it has none). The label
    is matched whole: `resource` is not the end of `subresource`."""
    for opening in (f'{{{name}="', f',{name}="'):
        if opening in line:
            return line.split(opening, 1)[1].split('"', 1)[0]
    return ""


def apiserver_request_counts(plane: ControlPlane) -> dict[tuple[str, str], float]:
    """{(verb, resource[/subresource]): requests} the API server has counted since it started."""
    counts: dict[tuple[str, str], float] = {}
    for line in plane.kubectl("get", "--raw", "/metrics").stdout.splitlines():
        if line.startswith("apiserver_request_total{"):
            key = (metric_label(line, "verb"),
                   "/".join(filter(None, (metric_label(line, "resource"), metric_label(line, "subresource")))))
            counts[key] = counts.get(key, 0.0) + float(line.rsplit(" ", 1)[1])
    return counts


def request_summary(before: dict, after: dict, envs: int, top: int = 20) -> str:
    """All requests per environment, then the largest (verb resource) counts: where the load went."""
    delta = {k: after[k] - before.get(k, 0.0) for k in after if after[k] - before.get(k, 0.0) > 0}
    total = sum(delta.values())
    largest = sorted(delta.items(), key=lambda kv: -kv[1])[:top]
    return f"{total:.0f} ({total / max(envs, 1):.1f} per environment); " + ", ".join(
        f"{verb} {resource or '-'} {count:.0f}" for (verb, resource), count in largest)


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all cores since boot (/proc/stat): a phase's share of the machine."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def busy_since(before: tuple[float, float]) -> str:
    busy, total = machine_busy()
    return f"machine {100 * (busy - before[0]) / max(total - before[1], 1):.0f}% busy ({os.cpu_count()} cores)"


def cpu_seconds(pid: int) -> float:
    """User + system CPU the process has used (/proc/PID/stat, clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory(pid: int) -> tuple[str, str]:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return fields["VmRSS"].strip(), fields["VmHWM"].strip()


# Loaded by the operator's interpreter (PYTHONPATH) with --memory-sites: on SIGUSR1 it writes the
# allocation sites tracemalloc has seen, largest first, to the file named by PARITY_BENCH_SITES.
# Bench-only: the operator itself knows nothing of it.
SITECUSTOMIZE = """
import collections, gc, os, signal, sys, tracemalloc
def _dump(signum, frame):
    # Runs in the main thread, inside whatever kopf was doing: it must never raise there.
    try:
        _write_sites()
    except Exception as err:
        with open(os.environ["PARITY_BENCH_SITES"], "w") as out:
            out.write(f"the dump failed: {type(err).__name__}: {err}\\n")
def _write_sites():
    # One frame per allocation: deeper tracebacks made the operator too slow to converge.
    snapshot = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
    stats = snapshot.statistics("lineno")
    total = sum(s.size for s in stats)
    census = collections.Counter()
    sizes = collections.Counter()
    for obj in gc.get_objects():
        kind = type(obj)
        name = f"{getattr(kind, '__module__', '?')}.{getattr(kind, '__qualname__', kind.__name__)}"
        census[name] += 1
        sizes[name] += sys.getsizeof(obj)
    with open(os.environ["PARITY_BENCH_SITES"] + ".part", "w") as out:
        out.write(f"traced total {total / 2**20:.1f} MiB in {len(stats)} allocating lines; largest:\\n")
        for s in stats[:25]:
            f = s.traceback[0]
            out.write(f"{s.size / 2**20:8.2f} MiB {s.count:8d} blocks  {f.filename}:{f.lineno}\\n")
        if FRAMES > 1:
            # Who holds the largest line's allocations outside the import system (module code
            # is not per-environment state): its tracebacks, most recent call first.
            top = next(s for s in stats if not s.traceback[0].filename.startswith("<frozen")).traceback[0]
            held = snapshot.filter_traces([tracemalloc.Filter(True, top.filename, top.lineno)])
            out.write(f"callers of {top.filename}:{top.lineno}:\\n")
            for s in held.statistics("traceback")[:12]:
                frames = [f"{f.filename.rsplit('/', 2)[-1]}:{f.lineno}" for f in s.traceback]
                out.write(f"{s.size / 2**20:8.2f} MiB  " + " <- ".join(reversed(frames)) + "\\n")
        out.write("objects the collector tracks, by type (shallow sizes):\\n")
        for name, size in sizes.most_common(15):
            out.write(f"{size / 2**20:8.2f} MiB {census[name]:8d}  {name}\\n")
    os.replace(os.environ["PARITY_BENCH_SITES"] + ".part", os.environ["PARITY_BENCH_SITES"])
FRAMES = int(os.environ.get("PARITY_BENCH_FRAMES", "1"))
if os.environ.get("PARITY_BENCH_SITES"):
    tracemalloc.start(FRAMES)
    signal.signal(signal.SIGUSR1, _dump)
"""


def memory_sites(op: Operator, path: Path) -> str:
    """What the operator's heap holds, by allocation site (only with --memory-sites)."""
    import signal

    path.unlink(missing_ok=True)
    op.proc.send_signal(signal.SIGUSR1)
    poll(path.exists, timeout=300, interval=1)  # renamed into place when complete
    return path.read_text()


def status_of(kube: Kube, ns: str) -> dict:
    return kube.get(resources.ENVIRONMENT.object_path("dev", ns)).get("status") or {}


def bench_changes(kube: Kube, namespaces: list[str], trials: int) -> dict[str, list[float]]:
    """change → updated status, over `trials` environments each (spec, baseline, child)."""
    out: dict[str, list[float]] = {"spec edit": [], "child edit": []}
    for i in range(trials):
        ns = namespaces[i % len(namespaces)]
        path = resources.ENVIRONMENT.object_path("dev", ns)
        body = kube.request("PATCH", path, body={"spec": {"postgres": {"parameters": {"work_mem": f"{4 + i}MB"}}}},
                            content_type="application/merge-patch+json")
        generation = body["metadata"]["generation"]
        start = time.monotonic()
        poll(lambda: status_of(kube, ns).get("observedGeneration") == generation
             and (status_of(kube, ns).get("drift") or {}).get("observedGeneration") == generation,
             timeout=120, interval=0.02)
        out["spec edit"].append(time.monotonic() - start)
        slow(ns, "spec edit", out["spec edit"][-1])
    out["baseline edit"] = bench_solo_baseline_edits(kube, namespaces, trials)
    for i in range(trials):
        ns = namespaces[i % len(namespaces)]
        replicas = 4 + (i % 3)
        kube.request("PATCH", f"/apis/apps/v1/namespaces/{ns}/statefulsets/dev-redis",
                     body={"spec": {"replicas": replicas}}, content_type="application/merge-patch+json")
        start = time.monotonic()
        poll(lambda: any(f.get("level") == "live" and f.get("local") == str(replicas)
                         for f in (status_of(kube, ns).get("drift") or {}).get("findings") or []),
             timeout=120, interval=0.02)
        out["child edit"].append(time.monotonic() - start)
        slow(ns, "child edit", out["child edit"][-1])
        kube.request("PATCH", f"/apis/apps/v1/namespaces/{ns}/statefulsets/dev-redis",
                     body={"spec": {"replicas": 3}}, content_type="application/merge-patch+json")
    return out


def bench_solo_baseline_edits(kube: Kube, namespaces: list[str], trials: int) -> list[float]:
    """A baseline edit → status of the one environment that compares with that baseline: the
    change latency, apart from a fan-out's queue (bench_fan_out measures that). Each trial points
    one environment at a copy of `production` of its own, edits the copy, and points it back."""
    production = kube.get(resources.BASELINE.object_path("production"))
    samples: list[float] = []
    for i in range(trials):
        ns = namespaces[i % len(namespaces)]
        solo = f"bench-solo-{i}"
        env_path = resources.ENVIRONMENT.object_path("dev", ns)

        def compares_with(name: str, generation: int) -> bool:
            drift = status_of(kube, ns).get("drift") or {}
            return drift.get("baseline") == name and drift.get("baselineGeneration") == generation

        kube.request("POST", resources.BASELINE.collection_path(), body={
            "apiVersion": constants.API_VERSION, "kind": constants.BASELINE_KIND, "metadata": {"name": solo},
            "spec": copy.deepcopy(production["spec"])})
        kube.request("PATCH", env_path, body={"spec": {"baselineRef": {"name": solo}}},
                     content_type="application/merge-patch+json")
        poll(lambda: compares_with(solo, 1), timeout=120, interval=0.05)
        time.sleep(2)  # the syncs of that spec edit are over: the edit below meets a quiet environment
        body = kube.request("PATCH", resources.BASELINE.object_path(solo), body={"spec": {"environment": {
                            "postgres": {"parameters": {"work_mem": f"{16 + i}MB"}}}}},
                            content_type="application/merge-patch+json")
        generation = body["metadata"]["generation"]
        start = time.monotonic()
        poll(lambda: compares_with(solo, generation), timeout=120, interval=0.02)
        samples.append(time.monotonic() - start)
        slow(ns, "baseline edit", samples[-1])
        kube.request("PATCH", env_path, body={"spec": {"baselineRef": {"name": "production"}}},
                     content_type="application/merge-patch+json")
        poll(lambda: (status_of(kube, ns).get("drift") or {}).get("baseline") == "production",
             timeout=120, interval=0.05)
        kube.request("DELETE", resources.BASELINE.object_path(solo))
    return samples


def slow(ns: str, what: str, seconds: float, limit: float = 5.0) -> None:
    """Name an outlier with its wall-clock time, to find it in the operator's log (--log)."""
    if seconds > limit:
        print(f"  slow {what} in {ns}: {seconds:.1f} s, ended {time.strftime('%H:%M:%S')}", flush=True)


def bench_fan_out(kube: Kube, namespaces: list[str], trials: int) -> tuple[list[float], list[float]]:
    """A baseline edit: time until one (p50/p95 over the environments) and all were compared with it."""
    path = resources.BASELINE.object_path("production")
    firsts: list[float] = []
    alls: list[float] = []
    for i in range(trials):
        before = kube.request("GET", path)["metadata"]["generation"]
        body = kube.request("PATCH", path, body={"spec": {"environment": {"postgres": {"parameters": {
                            "work_mem": f"{8 + i}MB"}}}}}, content_type="application/merge-patch+json")
        generation = body["metadata"]["generation"]
        if generation == before:  # a field the schema prunes: nothing to re-evaluate, nothing measured
            raise SystemExit(f"the baseline edit did not change {path} (generation {generation})")
        start = time.monotonic()
        seen: dict[str, float] = {}

        def all_seen() -> bool:
            for item in env_statuses(kube):
                ns = item["metadata"]["namespace"]
                if ns not in seen and ((item.get("status") or {}).get("drift") or {}).get(
                        "baselineGeneration") == generation:
                    seen[ns] = time.monotonic() - start
            return len(seen) == len(namespaces)

        poll(all_seen, timeout=600, interval=0.05)
        firsts.extend(seen.values())
        alls.append(max(seen.values()))
    return firsts, alls


def apiserver_requests(plane: ControlPlane) -> tuple[dict[str, float], float]:
    """(write requests per resource, all requests) the API server has counted since it started."""
    text = plane.kubectl("get", "--raw", "/metrics").stdout
    writes: dict[str, float] = {}
    total = 0.0

    for line in text.splitlines():
        if line.startswith("apiserver_request_total{"):
            value = float(line.rsplit(" ", 1)[1])
            total += value
            if metric_label(line, "verb") in WRITE_VERBS:
                key = "/".join(filter(None, (metric_label(line, "resource"), metric_label(line, "subresource"))))
                writes[key] = writes.get(key, 0.0) + value
    return writes, total


def pod_versions(kube: Kube) -> dict[str, tuple[str, str, str]]:
    """Every bench pod: (uid, resourceVersion, its conditions' type=status)."""
    out = {}
    for pod in kube.request("GET", "/api/v1/pods").get("items", []):
        meta = pod["metadata"]
        if meta["namespace"].startswith("op-"):
            conditions = ",".join(f"{c['type']}={c['status']}" for c in (pod.get("status") or {}).get("conditions") or [])
            out[f"{meta['namespace']}/{meta['name']}"] = (meta["uid"], meta["resourceVersion"], conditions)
    return out


def pod_churn(before: dict, after: dict) -> str:
    """What changed in the pods between two snapshots: a no-op window's writes that are not the
    operator's to avoid (kwok and the controllers), and the reason status may change."""
    gone = len(set(before) - set(after))
    new = len(set(after) - set(before))
    replaced = sum(1 for k in after if k in before and before[k][0] != after[k][0])
    updated = [k for k in after if k in before and before[k][0] == after[k][0] and before[k][1] != after[k][1]]
    flipped = sum(1 for k in updated if before[k][2] != after[k][2])
    example = f"; e.g. {updated[0]}: {before[updated[0]][2]} -> {after[updated[0]][2]}" if updated else ""
    return (f"pods in the window: {len(after)}; {new} new, {gone} gone, {replaced} replaced, {len(updated)} updated "
            f"({flipped} with other conditions){example}")


def whole_second(wall: float) -> dt.datetime:
    """A time.time() as a UTC datetime, cut to the second: Events carry whole seconds."""
    return dt.datetime.fromtimestamp(int(wall), dt.timezone.utc)


def events_since(kube: Kube, since: dt.datetime, prefix: str = "op-", top: int = 8,
                 occurrences: bool = False, namespaces: bool = False) -> str:
    """The Events of namespaces named `prefix`... (every namespace: "") created or repeated since
    `since`, by who wrote them, the object's kind and the reason (with `namespaces`, the
    namespace first). Each Event counts once, or with `occurrences` as often as it happened (its
    count): a whole phase's Event writes."""
    counts: collections.Counter = collections.Counter()
    for event in kube.request("GET", "/api/v1/events").get("items", []):
        namespace = event["metadata"]["namespace"]
        if not namespace.startswith(prefix):
            continue
        stamp = event.get("lastTimestamp") or event.get("eventTime") or event["metadata"].get("creationTimestamp")
        if stamp and dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")) >= since:
            reporter = event.get("reportingComponent") or (event.get("source") or {}).get("component") or "?"
            weight = (event.get("count") or (event.get("series") or {}).get("count") or 1) if occurrences else 1
            where = f"{namespace} " if namespaces else ""
            counts[f"{where}{reporter} {event['involvedObject'].get('kind')} {event.get('reason')}"] += weight
    return ", ".join(f"{k}: {v}" for k, v in counts.most_common(top)) or "none"


def operator_metrics(op: Operator) -> str:
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{op.metrics_port}/metrics", timeout=5) as resp:
        return resp.read().decode()


class OperatorCounts(NamedTuple):
    """The operator's own counters at one moment, from one read of its /metrics."""
    syncs_by_trigger: collections.Counter  # environment, child, baseline, timer, ...
    passes_skipped: float  # timer passes not run (handlers/quiet.py): not syncs

    @property
    def syncs(self) -> float:
        return sum(self.syncs_by_trigger.values())

    def since(self, earlier: "OperatorCounts") -> "OperatorCounts":
        by_trigger = collections.Counter(self.syncs_by_trigger)
        by_trigger.subtract(earlier.syncs_by_trigger)
        return OperatorCounts(by_trigger, self.passes_skipped - earlier.passes_skipped)


def operator_counts(op: Operator) -> OperatorCounts:
    by_trigger: collections.Counter = collections.Counter()
    skipped = 0.0
    for line in operator_metrics(op).splitlines():
        if line.startswith("parity_reconcile_duration_seconds_count"):
            by_trigger[metric_label(line, "trigger") or "?"] += float(line.rsplit(" ", 1)[1])
        elif line.startswith("parity_timer_passes_skipped_total"):
            skipped += float(line.rsplit(" ", 1)[1])
    return OperatorCounts(by_trigger, skipped)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", type=int, default=20)
    parser.add_argument("--changes", type=int, default=20, help="trials per change kind")
    parser.add_argument("--fan-out-trials", type=int, default=3)
    parser.add_argument("--resync", type=float, default=30.0, help="PARITY_RESYNC_SECONDS for the operator")
    parser.add_argument("--observability", action="store_true", help="the full sample, observability included")
    parser.add_argument("--log", type=Path, help="keep the operator's log here (default: removed with the run)")
    parser.add_argument("--memory-sites", action="store_true",
                        help="trace the operator's allocations and print the largest sites (slows it: not a timing run)")
    parser.add_argument("--memory-frames", type=int, default=1,
                        help="with --memory-sites: frames per traced allocation; above 1, the largest site's "
                        "callers are printed (slower still: use a small --envs)")
    args = parser.parse_args()
    sample = sample_manifest(args.observability)
    pods = pods_per_environment(sample)
    shape = f"sample {'with' if args.observability else 'without'} observability ({pods} pods)"
    print(f"N={args.envs} environments, {shape}; resync {args.resync:.0f} s", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        plane = ControlPlane(Path(tmp) / "cp", bin_dir=find_binaries())
        plane.start(timeout=300)
        op = None
        kube = Kube.connect(str(plane.kubeconfig))
        try:
            nodes = add_kwok_nodes(plane, args.envs * pods)
            plane.kubectl("apply", "--server-side", "-k", str(REPO / "crds"))
            plane.wait_established("parityenvironments.parity.dev", "paritybaselines.parity.dev")
            plane.kubectl("apply", "--server-side", "-f", str(REPO / "baselines"))
            plane.kubectl("apply", "--server-side", "-f", str(REPO / "manifests/operator/patroni-rbac.yaml"))
            print(f"kwok nodes: {nodes}", flush=True)

            floor = bench_floor(plane, sample, args.envs)
            print(f"floor (children applied by {APPLIERS} parallel SSA clients, all workloads ready): "
                  f"{floor:.1f} s", flush=True)

            op_env = {"PARITY_RESYNC_SECONDS": str(args.resync)}
            sites = Path(tmp) / "memory-sites.txt"
            if args.memory_sites:
                (Path(tmp) / "site").mkdir()
                (Path(tmp) / "site" / "sitecustomize.py").write_text(SITECUSTOMIZE)
                op_env.update(PARITY_BENCH_SITES=str(sites), PARITY_BENCH_FRAMES=str(args.memory_frames),
                              PYTHONPATH=os.pathsep.join(filter(None, [str(Path(tmp) / "site"),
                                                                       os.environ.get("PYTHONPATH")])))
                print("--memory-sites: allocations are traced, which slows the operator: times are not figures",
                      flush=True)
            op = Operator(plane, args.log or Path(tmp) / "operator.log", env=op_env)
            op.start()
            op.wait_ready()
            idle_rss, _ = memory(op.proc.pid)
            print(f"operator before any environment: RSS {idle_rss} (interpreter, imports, clients)", flush=True)
            namespaces = create_namespaces(kube, "op", args.envs)
            cpu0, counts0 = cpu_seconds(op.proc.pid), operator_counts(op)
            converged = bench_operator(plane, kube, sample, namespaces, len(workloads_of(sample)))
            cpu, counts = cpu_seconds(op.proc.pid) - cpu0, operator_counts(op).since(counts0)
            syncs = counts.syncs
            print(f"  operator's CPU while converging: {cpu:.1f} s ({cpu / converged:.0%} of one core; "
                  f"{os.cpu_count()} cores here, shared with the control plane); {syncs:.0f} syncs "
                  f"({syncs / args.envs:.1f} per environment, {cpu / max(syncs, 1) * 1000:.0f} ms CPU each "
                  f"with kopf's share); by trigger: "
                  + ", ".join(f"{k} {v:.0f}" for k, v in counts.syncs_by_trigger.most_common() if v)
                  + f"; timer passes skipped (not syncs): {counts.passes_skipped:.0f}", flush=True)
            rss, hwm = memory(op.proc.pid)
            print(f"operator: all {args.envs} Ready after {converged:.1f} s; ratio to the floor "
                  f"{converged / floor:.2f}; RSS {rss}, peak {hwm}", flush=True)
            if args.memory_sites:
                print(memory_sites(op, sites), flush=True)

            changes = bench_changes(kube, namespaces, args.changes)
            for label, samples in changes.items():
                print(f"{label} → status with N present: p50 {statistics.median(samples) * 1000:.0f} ms, "
                      f"p95 {pct(samples, 95) * 1000:.0f} ms, max {max(samples) * 1000:.0f} ms (n={len(samples)})", flush=True)
            firsts, alls = bench_fan_out(kube, namespaces, args.fan_out_trials)
            print(f"baseline edit fanned out to all {args.envs} → each one's status: p50 "
                  f"{statistics.median(firsts) * 1000:.0f} ms, p95 "
                  f"{pct(firsts, 95) * 1000:.0f} ms; all {args.envs} re-evaluated after "
                  f"{statistics.median(alls):.1f} s (p50 of {len(alls)}), max {max(alls):.1f} s", flush=True)

            time.sleep(args.resync + 5)  # the edits above settle
            # Whole seconds: Events carry second-granularity timestamps.
            window_start = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) + dt.timedelta(seconds=1)
            writes0, total0 = apiserver_requests(plane)
            counts0 = operator_counts(op)
            pods0 = pod_versions(kube)
            window = 2 * args.resync
            time.sleep(window)
            writes1, total1 = apiserver_requests(plane)
            in_window = operator_counts(op).since(counts0)
            pods1 = pod_versions(kube)
            delta = {k: writes1.get(k, 0) - writes0.get(k, 0) for k in writes1}
            delta = {k: v for k, v in sorted(delta.items(), key=lambda kv: -kv[1]) if v}
            # What the operator writes: environments (and their status), children, Events, reports.
            # The control plane's own writes (leases, nodes, endpoints) are listed but not counted.
            # Event writes are counted in every namespace (the API server's counter has none): an
            # upper bound, and the Events printed below say whose they were.
            ours = sum(v for k, v in delta.items() if k.split("/")[0] in OPERATOR_RESOURCES)
            per_env_10min = ours / args.envs * (600 / window)
            syncs = in_window.syncs
            passes = args.envs * window / args.resync
            print(f"no-op window {window:.0f} s: API writes by resource {delta}; to the operator's kinds "
                  f"(at most the operator's: Events of every namespace included) "
                  f"{ours:.0f} = {per_env_10min:.2f} per environment per 10 min; {syncs:.0f} syncs, "
                  f"{in_window.passes_skipped:.0f} timer passes skipped; API requests (all verbs, all clients) "
                  f"{(total1 - total0) / max(syncs, 1):.1f} per sync, "
                  f"{(total1 - total0) / passes:.2f} per environment per resync period",
                  flush=True)
            print(pod_churn(pods0, pods1), flush=True)
            print(f"Events written in the window (reporter kind reason): {events_since(kube, window_start)}; "
                  f"in every namespace (namespace reporter kind reason): "
                  f"{events_since(kube, window_start, prefix='', namespaces=True)}", flush=True)
            rss, hwm = memory(op.proc.pid)
            print(f"operator memory at the end: RSS {rss}, peak {hwm}", flush=True)
        finally:
            if op is not None:
                op.stop()
            kube.close()
            plane.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
