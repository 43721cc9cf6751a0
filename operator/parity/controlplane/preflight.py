"""Can a real node run here? Every missing piece in one message, before anything starts.

`gather_facts` reads the machine; `node_problems` is a pure function of those facts, so each
refusal is unit-tested without the machine lacking it.
"""

from __future__ import annotations

import os
import shutil
import socket
from dataclasses import dataclass, field
from pathlib import Path

from parity.controlplane.hoststate import host_owner
from parity.controlplane.nodeconfig import BRIDGE_NAME

NODE_BINARIES = ("kubelet", "kube-proxy", "containerd", "containerd-shim-runc-v2", "ctr", "runc", "coredns")
HOST_TOOLS = ("iptables", "iptables-save", "iptables-restore", "ip6tables", "ip6tables-save",
              "ip6tables-restore", "ip", "mount", "umount", "conntrack")
CNI_PLUGINS = ("bridge", "host-local", "loopback", "portmap")
KUBELET_PORT = 10250
# Debian's containernetworking-plugins package installs here.
DEFAULT_CNI_BIN_DIR = Path("/usr/lib/cni")


@dataclass
class HostFacts:
    euid: int
    filesystems: set[str]
    bridge_netfilter: bool
    cgroup_mounted: bool
    tools_missing: list[str]
    binaries_missing: list[str]
    cni_missing: list[str]
    kubelet_port_free: bool
    hostname: str
    hostname_resolves: bool
    node_ip: str | None
    leftover_bridge: bool
    node_owner: str | None = None  # the state directory recorded by the node that made the bridge
    notes: list[str] = field(default_factory=list)


def node_problems(f: HostFacts, *, bin_dir: Path, cni_bin_dir: Path) -> list[str]:
    """What stops a real node from running, each with what to do; empty when it can run."""
    problems = []
    if f.euid != 0:
        problems.append("not root: containerd, kubelet and kube-proxy change mounts, cgroups and iptables "
                        "(run as root, e.g. sudo make up)")
    if "overlay" not in f.filesystems:
        problems.append("the kernel has no overlay filesystem (containerd's overlayfs snapshotter needs it: "
                        "modprobe overlay)")
    if not f.bridge_netfilter:
        problems.append("bridged traffic bypasses iptables: /proc/sys/net/bridge is missing (modprobe br_netfilter)")
    if not f.cgroup_mounted:
        problems.append("no cgroup filesystem under /sys/fs/cgroup")
    if f.tools_missing:
        problems.append(f"host tools missing: {', '.join(f.tools_missing)} "
                        "(apt-get install iptables iproute2 conntrack mount)")
    if f.binaries_missing:
        problems.append(f"node binaries missing in {bin_dir}: {', '.join(f.binaries_missing)} "
                        "(bash tools/controlplane/build.sh node)")
    if f.cni_missing:
        problems.append(f"CNI plugins missing in {cni_bin_dir}: {', '.join(f.cni_missing)} "
                        "(apt-get install containernetworking-plugins)")
    if not f.kubelet_port_free:
        problems.append(f"port {KUBELET_PORT} is taken: another kubelet (a second real node) runs on this machine; "
                        "only one real node fits (parity cluster down, or stop the other kubelet)")
    if not f.hostname_resolves:
        problems.append(f"the node name {f.hostname!r} (this machine's hostname) does not resolve; kubectl logs/exec "
                        f"need it: add it to /etc/hosts")
    if f.node_ip is None:
        problems.append("no non-loopback IPv4 address with a route: pods reach the API server at the node's address")
    if f.leftover_bridge and f.node_owner:
        problems.append(f"the bridge {BRIDGE_NAME} exists: the real node in {f.node_owner} is running "
                        f"(parity cluster down --state-dir {f.node_owner})")
    elif f.leftover_bridge:
        problems.append(f"the bridge {BRIDGE_NAME} exists: a real node is running or was not stopped "
                        "(parity cluster down)")
    return problems


def detect_node_ip() -> str | None:
    """The node's address: the first global-scope IPv4 address, preferring the default route's device."""
    import json
    import subprocess

    def addresses(*args: str) -> list[str]:
        proc = subprocess.run(["ip", "-4", "-j", *args], capture_output=True, text=True)
        try:
            data = json.loads(proc.stdout or "[]")
        except ValueError:
            return []
        return [a["local"] for iface in data for a in iface.get("addr_info", []) if "local" in a]

    try:
        route = json.loads(subprocess.run(["ip", "-4", "-j", "route", "show", "default"],
                                          capture_output=True, text=True).stdout or "[]")
    except (OSError, ValueError):
        return None
    for entry in route:
        found = addresses("addr", "show", "dev", entry.get("dev", ""), "scope", "global")
        if found:
            return found[0]
    found = addresses("addr", "show", "scope", "global")
    return found[0] if found else None


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def gather_facts(bin_dir: Path, cni_bin_dir: Path) -> HostFacts:
    hostname = socket.gethostname()
    try:
        socket.gethostbyname(hostname)
        resolves = True
    except OSError:
        resolves = False
    try:
        filesystems = {line.split()[-1] for line in Path("/proc/filesystems").read_text().splitlines() if line.strip()}
    except OSError:
        filesystems = set()
    cgroup = Path("/sys/fs/cgroup")
    return HostFacts(
        euid=os.geteuid(),
        filesystems=filesystems,
        bridge_netfilter=Path("/proc/sys/net/bridge/bridge-nf-call-iptables").exists(),
        cgroup_mounted=(cgroup / "memory").is_dir() or (cgroup / "cgroup.controllers").exists(),
        tools_missing=[t for t in HOST_TOOLS if shutil.which(t) is None],
        binaries_missing=[b for b in NODE_BINARIES if not (bin_dir / b).exists()],
        cni_missing=[p for p in CNI_PLUGINS if not (cni_bin_dir / p).exists()],
        kubelet_port_free=_port_free(KUBELET_PORT),
        hostname=hostname,
        hostname_resolves=resolves,
        node_ip=detect_node_ip(),
        leftover_bridge=Path(f"/sys/class/net/{BRIDGE_NAME}").exists(),
        node_owner=str(owner) if (owner := host_owner()) else None,
    )


def cgroup_v1() -> bool:
    return not Path("/sys/fs/cgroup/cgroup.controllers").exists()
