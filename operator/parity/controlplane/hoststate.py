"""What a real node changes on the host, recorded before it starts and undone when it stops.

kubelet, kube-proxy, containerd and the CNI plugins change host-wide state: sysctls, iptables
chains in every table, a bridge, network namespaces, cgroups, mounts. `record_host_state`
writes what was there before into a journal; `undo_host_changes` puts it back, so that
`parity cluster down` leaves the machine as `up` found it. Each step is best-effort and
reports what it could not undo instead of stopping at the first failure.
"""

from __future__ import annotations

import re

import json
import os
import shutil
import subprocess
from pathlib import Path

# Every sysctl the node's parts may write. kubelet (protectKernelDefaults=false) sets the kernel
# and vm ones; the bridge CNI plugin and kube-proxy the network ones.
WATCHED_SYSCTLS = (
    "kernel.panic",
    "kernel.panic_on_oops",
    "kernel.keys.root_maxkeys",
    "kernel.keys.root_maxbytes",
    "vm.overcommit_memory",
    "vm.panic_on_oom",
    "net.ipv4.ip_forward",
    "net.ipv4.conf.all.route_localnet",
    "net.bridge.bridge-nf-call-iptables",
    "net.bridge.bridge-nf-call-ip6tables",
    "net.ipv6.conf.all.forwarding",
    "net.netfilter.nf_conntrack_max",
    "net.netfilter.nf_conntrack_tcp_timeout_established",
    "net.netfilter.nf_conntrack_tcp_timeout_close_wait",
    "net.netfilter.nf_conntrack_tcp_be_liberal",
)
# The sysctls the node needs set before kubelet starts (bridge traffic through iptables, routing).
REQUIRED_SYSCTLS = {
    "net.ipv4.ip_forward": "1",
    "net.bridge.bridge-nf-call-iptables": "1",
    "net.bridge.bridge-nf-call-ip6tables": "1",
}
IPTABLES_FAMILIES = ("iptables", "ip6tables")
CGROUP_ROOT = Path("/sys/fs/cgroup")
NETNS_DIR = Path("/run/netns")
# Top-level cgroups kubelet creates (cgroupRoot "/", cgroupsPerQOS).
KUBELET_CGROUPS = ("kubepods", "kubepods.slice")
# Which state directory's node has changed this host. A node whose processes were killed
# (its `down` never ran) leaves the bridge, mounts and iptables chains behind, and its journal
# sits in a directory only it knew; this record leads the next `up` there. /run lasts one boot,
# as does everything the node changes.
HOST_OWNER_FILE = Path("/run/parity/real-node")


def _sysctl_path(key: str) -> Path:
    return Path("/proc/sys") / key.replace(".", "/")


def read_sysctls(keys=WATCHED_SYSCTLS) -> dict[str, str]:
    values = {}
    for key in keys:
        try:
            values[key] = _sysctl_path(key).read_text().strip()
        except OSError:
            pass  # not on this kernel: nothing to restore either
    return values


def write_sysctl(key: str, value: str) -> None:
    _sysctl_path(key).write_text(value + "\n")


def iptables_save(family: str) -> str | None:
    try:
        proc = subprocess.run([f"{family}-save"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout if proc.returncode == 0 else None


_CHAIN_COUNTERS = re.compile(r"\s*\[\d+:\d+\]\s*$")


def iptables_tables(dump: str) -> dict[str, list[str]]:
    """`iptables-save` output split by table: {table: lines between `*table` and COMMIT}.
    Chain declarations lose their packet counters (`:INPUT ACCEPT [22:3377]` → `:INPUT ACCEPT`):
    traffic moves them, and they are not state anybody set (iptables-restore takes the line
    without them)."""
    tables: dict[str, list[str]] = {}
    current = None
    for line in dump.splitlines():
        if line.startswith("*"):
            current = line[1:].strip()
            tables[current] = []
        elif line.strip() == "COMMIT":
            current = None
        elif current is not None and not line.startswith("#"):
            tables[current].append(_CHAIN_COUNTERS.sub("", line) if line.startswith(":") else line)
    return tables


def restore_dump(saved: str, current: str) -> str:
    """The iptables-restore input that brings `current` back to `saved`: every table in either,
    with the saved chains and rules (a table that did not exist before comes back empty, its
    built-in chains accepting, which is what an unused table is)."""
    before, now = iptables_tables(saved), iptables_tables(current)
    out = []
    for table in sorted(set(before) | set(now)):
        lines = before.get(table)
        if lines is None:
            # Keep only the built-in chains' declarations (":INPUT ACCEPT [0:0]"), no rules.
            lines = [line for line in now[table] if line.startswith(":") and line.split()[1] != "-"]
        out.append(f"*{table}")
        out.extend(lines)
        out.append("COMMIT")
    return "\n".join(out) + "\n"


def _links() -> set[str]:
    return {p.name for p in Path("/sys/class/net").iterdir()} if Path("/sys/class/net").exists() else set()


def _netns() -> list[str]:
    return sorted(p.name for p in NETNS_DIR.iterdir()) if NETNS_DIR.exists() else []


def _kubelet_cgroups() -> list[str]:
    found = []
    if CGROUP_ROOT.exists():
        for hierarchy in [CGROUP_ROOT, *sorted(p for p in CGROUP_ROOT.iterdir() if p.is_dir())]:
            for name in KUBELET_CGROUPS:
                if (hierarchy / name).is_dir():
                    found.append(str(hierarchy / name))
    return found


def record_host_state(journal: Path) -> dict:
    """Write what the host looks like before the node starts; kept if a journal already exists
    (a crashed node's `up` must not overwrite the state from before the first start)."""
    if journal.exists():
        return json.loads(journal.read_text())
    state = {
        "sysctls": read_sysctls(),
        "iptables": {family: iptables_save(family) for family in IPTABLES_FAMILIES},
        "links": sorted(_links()),
        "netns": _netns(),
        "cgroups": _kubelet_cgroups(),
    }
    journal.parent.mkdir(parents=True, exist_ok=True)
    journal.write_text(json.dumps(state, indent=1))
    return state


def claim_host(state_dir: Path) -> None:
    """Record that the node in `state_dir` is about to change this host."""
    HOST_OWNER_FILE.parent.mkdir(parents=True, exist_ok=True)
    HOST_OWNER_FILE.write_text(str(Path(state_dir).resolve()) + "\n")


def host_owner() -> Path | None:
    """The state directory of the node that changed this host and has not undone it, if any."""
    try:
        text = HOST_OWNER_FILE.read_text().strip()
    except OSError:
        return None
    return Path(text) if text else None


def release_host(state_dir: Path) -> None:
    """Forget the record, if it is still `state_dir`'s (another node may have claimed it since)."""
    if host_owner() == Path(state_dir).resolve():
        HOST_OWNER_FILE.unlink(missing_ok=True)


def mounts_under(root: Path) -> list[str]:
    """Mount points at or below `root`, deepest first (the order to unmount them in)."""
    root_s = str(root.resolve())
    points = []
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return []
    for line in lines:
        point = line.split()[4].encode().decode("unicode_escape")
        if point == root_s or point.startswith(root_s + "/"):
            points.append(point)
    return sorted(set(points), key=lambda p: p.count("/"), reverse=True)


def _umount(point: str) -> bool:
    return subprocess.run(["umount", "-l", point], capture_output=True).returncode == 0


def _remove_cgroup_tree(path: Path) -> bool:
    """rmdir a cgroup and its children, deepest first; only empty cgroups can go."""
    ok = True
    for dirpath, dirnames, _ in sorted(os.walk(path), key=lambda t: t[0].count("/"), reverse=True):
        try:
            os.rmdir(dirpath)
        except OSError:
            ok = False
    return ok


def undo_host_changes(journal: Path, *, node_root: Path, bridge: str) -> list[str]:
    """Put the host back as the journal recorded it. Call after every node process is gone.
    Returns what could not be undone (empty when the host is clean)."""
    if not journal.exists():
        return []
    state = json.loads(journal.read_text())
    problems: list[str] = []

    # Network namespaces the CNI made for pods (bind mounts under /run/netns).
    for name in sorted(set(_netns()) - set(state.get("netns", []))):
        path = NETNS_DIR / name
        _umount(str(path))
        try:
            path.unlink()
        except OSError as err:
            problems.append(f"network namespace {path}: {err}")

    # A mount may vanish on its own meanwhile (a shim cleaning up): judge by what is left.
    for point in mounts_under(node_root):
        _umount(point)
    problems += [f"mount {point} could not be unmounted" for point in mounts_under(node_root)]

    # The bridge, and the host ends of pod veths whose namespace is already gone.
    new_links = _links() - set(state.get("links", []))
    for link in sorted(name for name in new_links if name == bridge or name.startswith("veth")):
        if subprocess.run(["ip", "link", "delete", link], capture_output=True).returncode != 0 and link in _links():
            problems.append(f"network link {link} could not be deleted")

    for family in IPTABLES_FAMILIES:
        saved = (state.get("iptables") or {}).get(family)
        current = iptables_save(family)
        if saved is None or current is None or not shutil.which(f"{family}-restore"):
            continue
        if iptables_tables(saved) == iptables_tables(current):
            continue
        proc = subprocess.run([f"{family}-restore"], input=restore_dump(saved, current),
                              capture_output=True, text=True)
        if proc.returncode != 0:
            problems.append(f"{family}: restoring the saved rules failed: {proc.stderr.strip()[:300]}")

    for key, value in state.get("sysctls", {}).items():
        try:
            if _sysctl_path(key).read_text().strip() != value:
                write_sysctl(key, value)
        except OSError as err:
            problems.append(f"sysctl {key}: could not restore {value!r}: {err}")

    for cgroup in sorted(set(_kubelet_cgroups()) - set(state.get("cgroups", []))):
        if not _remove_cgroup_tree(Path(cgroup)):
            problems.append(f"cgroup {cgroup} could not be removed (processes still in it?)")

    if not problems:
        journal.unlink()
    return problems
