"""The real node: containerd + runc, a bridge CNI, kubelet, kube-proxy and CoreDNS as host
processes, registered with the local control plane, so that the environment's pods run.

Started after the control plane's API server, stopped before it. Everything it writes lives
under `<state>/node`; what it changes on the host (sysctls, iptables, the bridge, network
namespaces, cgroups, mounts) is recorded first and undone by `stop` (see hoststate).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import struct
import subprocess
import time
from pathlib import Path
from typing import Callable

import yaml

from parity.controlplane import hoststate
from parity.controlplane.certs import CertPaths, make_client_cert
from parity.controlplane.nodeconfig import (
    BRIDGE_NAME,
    CLUSTER_DNS_IP,
    COREDNS_PORT,
    REAL_NODE_LABEL,
    NodePaths,
    build_cni_config,
    build_containerd_config,
    build_corefile,
    build_dns_objects,
    build_kube_proxy_config,
    build_kubelet_config,
)
from parity.controlplane.preflight import DEFAULT_CNI_BIN_DIR, cgroup_v1, gather_facts, node_problems
from parity.procs import pid_alive, signal_group

# Start order; stop goes the other way (kubelet before containerd, whose shims hold the pods).
NODE_PROCESSES = ("containerd", "coredns", "kube-proxy", "kubelet")
DEFAULT_SANDBOX_IMAGE = "parity.local/pause:3.10"


class NodeError(RuntimeError):
    """The real node could not start; the message says what is missing or which part failed."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _kubeconfig(server: str, ca: Path, crt: Path, key: Path, user: str) -> dict:
    return {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "parity-local", "cluster": {"server": server, "certificate-authority": str(ca)}}],
        "users": [{"name": user, "user": {"client-certificate": str(crt), "client-key": str(key)}}],
        "contexts": [{"name": "default", "context": {"cluster": "parity-local", "user": user}}],
        "current-context": "default",
    }


def dns_query_a(server: str, port: int, name: str, timeout: float = 2.0) -> list[str]:
    """A records for `name` from one DNS server (one UDP query, no library needed)."""
    query_id = os.getpid() & 0xFFFF
    header = struct.pack(">HHHHHH", query_id, 0x0100, 1, 0, 0, 0)
    question = b"".join(bytes([len(p)]) + p.encode() for p in name.rstrip(".").split(".")) + b"\0"
    packet = header + question + struct.pack(">HH", 1, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(packet, (server, port))
        data, _ = s.recvfrom(4096)
    answers = struct.unpack(">H", data[6:8])[0]
    offset = len(packet)
    found = []
    for _ in range(answers):
        if data[offset] & 0xC0 == 0xC0:
            offset += 2
        else:
            while data[offset]:
                offset += data[offset] + 1
            offset += 1
        rtype, _cls, _ttl, length = struct.unpack(">HHIH", data[offset:offset + 10])
        offset += 10
        if rtype == 1 and length == 4:
            found.append(socket.inet_ntoa(data[offset:offset + 4]))
        offset += length
    return found


class RealNode:
    def __init__(self, state_dir: Path, bin_dir: Path, *, cni_bin_dir: Path = DEFAULT_CNI_BIN_DIR,
                 sandbox_image: str = DEFAULT_SANDBOX_IMAGE):
        self.state_dir = Path(state_dir).resolve()
        self.paths = NodePaths(self.state_dir / "node")
        self.bin_dir = Path(bin_dir)
        self.cni_bin_dir = Path(cni_bin_dir)
        self.sandbox_image = sandbox_image
        self.log_dir = self.paths.root / "logs"
        self.pid_file = self.paths.root / "pids.json"
        self.info_file = self.paths.root / "node.json"
        self._pids: dict[str, int] = {}

    # -- facts -------------------------------------------------------------------------------
    def preflight(self) -> tuple[list[str], str, str | None]:
        facts = gather_facts(self.bin_dir, self.cni_bin_dir)
        return node_problems(facts, bin_dir=self.bin_dir, cni_bin_dir=self.cni_bin_dir), facts.hostname, facts.node_ip

    def info(self) -> dict:
        try:
            return json.loads(self.info_file.read_text())
        except (OSError, ValueError):
            return {}

    def status(self) -> dict[str, bool]:
        return {name: pid_alive(pid, if_unreadable=False) for name, pid in self._read_pids().items()}

    def running(self) -> bool:
        status = self.status()
        return bool(status) and all(status.values())

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self, *, apiserver_url: str, certs: CertPaths, kubectl: Callable, hostname: str, node_ip: str,
              timeout: float = 180.0, say: Callable[[str], None] = lambda _m: None,
              import_images: Callable[["RealNode"], None] | None = None) -> None:
        """Start containerd, CoreDNS, kube-proxy and kubelet; return once the node is Ready and
        cluster DNS answers through kube-proxy. The caller ran preflight and stops us on failure."""
        p = self.paths
        for d in (p.root, self.log_dir, p.cni_conf_dir, p.cni_data_dir, p.kubelet_root, p.pod_logs):
            d.mkdir(parents=True, exist_ok=True)
        hoststate.record_host_state(p.undo_file)
        hoststate.claim_host(self.state_dir)
        for key, value in hoststate.REQUIRED_SYSCTLS.items():
            hoststate.write_sysctl(key, value)

        cert_dir = certs.ca_crt.parent
        kubelet_crt, kubelet_key = make_client_cert(cert_dir, f"node-{hostname}",
                                                    f"/O=system:nodes/CN=system:node:{hostname}")
        proxy_crt, proxy_key = make_client_cert(cert_dir, "kube-proxy", "/CN=system:kube-proxy")
        dns_crt, dns_key = make_client_cert(cert_dir, "coredns", "/CN=parity-coredns")
        kubeconfigs = {}
        for name, crt, key in (("kubelet", kubelet_crt, kubelet_key), ("kube-proxy", proxy_crt, proxy_key),
                               ("coredns", dns_crt, dns_key)):
            path = p.root / f"{name}.kubeconfig"
            path.write_text(yaml.safe_dump(_kubeconfig(apiserver_url, certs.ca_crt, crt, key, name)))
            kubeconfigs[name] = path

        say("starting containerd")
        p.containerd_config.parent.mkdir(parents=True, exist_ok=True)
        p.containerd_config.write_text(build_containerd_config(
            p, runc=self.bin_dir / "runc", cni_bin_dir=self.cni_bin_dir, sandbox_image=self.sandbox_image))
        (p.cni_conf_dir / "10-parity.conflist").write_text(json.dumps(build_cni_config(p), indent=2))
        self._spawn("containerd", ["--config", str(p.containerd_config), "--log-level", "warn"])
        self._wait(lambda: p.containerd_socket.exists() and self._ctr("version").returncode == 0,
                   "containerd to answer on its socket", 60)
        if import_images is not None:
            # Before kubelet: the sandbox image must be there when the first pod is created.
            say("importing the local images into containerd")
            import_images(self)

        say("starting CoreDNS and kube-proxy")
        kubectl("apply", "--server-side", "--force-conflicts", "--field-manager=parity-node", "-f", "-",
                input=json.dumps({"apiVersion": "v1", "kind": "List", "items": build_dns_objects(node_ip)}))
        dns_health = _free_port()
        p.corefile.write_text(build_corefile(kubeconfig=kubeconfigs["coredns"], bind_address=node_ip,
                                             port=COREDNS_PORT, health_port=dns_health))
        self._spawn("coredns", ["-conf", str(p.corefile)])
        p.kube_proxy_config.write_text(yaml.safe_dump(build_kube_proxy_config(
            kubeconfig=kubeconfigs["kube-proxy"], hostname=hostname,
            healthz_port=_free_port(), metrics_port=_free_port())))
        self._spawn("kube-proxy", ["--config", str(p.kube_proxy_config)])

        say("starting kubelet")
        kubelet_healthz = _free_port()
        p.kubelet_config.write_text(yaml.safe_dump(build_kubelet_config(
            p, ca_file=certs.ca_crt, containerd_socket=p.containerd_socket, healthz_port=kubelet_healthz,
            cgroup_v1=cgroup_v1())))
        self._spawn("kubelet", [
            f"--config={p.kubelet_config}",
            f"--kubeconfig={kubeconfigs['kubelet']}",
            f"--root-dir={p.kubelet_root}",
            f"--cert-dir={p.root / 'kubelet-pki'}",
            f"--hostname-override={hostname}",
            f"--node-ip={node_ip}",
            f"--node-labels={REAL_NODE_LABEL}=real",
            "--v=1",
        ])
        self.info_file.write_text(json.dumps({"name": hostname, "ip": node_ip, "runtime": "containerd",
                                              "bin_dir": str(self.bin_dir)}))

        say(f"waiting for node {hostname} to be Ready and cluster DNS to answer")

        def node_ready() -> bool:
            out = kubectl("get", "node", hostname, "-o",
                          'jsonpath={.status.conditions[?(@.type=="Ready")].status}', check=False)
            return out.stdout.strip() == "True"

        self._wait(node_ready, f"node {hostname} to be Ready", timeout)

        def dns_answers() -> bool:
            # Through the Service IP, so kube-proxy's rules and CoreDNS's API watch are both proven.
            try:
                return bool(dns_query_a(CLUSTER_DNS_IP, 53, "kubernetes.default.svc.cluster.local", timeout=1))
            except OSError:
                return False

        self._wait(dns_answers, "cluster DNS (10.96.0.10 through kube-proxy to CoreDNS)", timeout)

    @property
    def ctr(self) -> Path:
        return self.bin_dir / "ctr"

    @property
    def containerd_address(self) -> str:
        return str(self.paths.containerd_socket)

    def stop(self) -> list[str]:
        """Stop every node process, the pods' processes with them, and undo the host changes.
        Returns what could not be undone."""
        pids = self._read_pids()
        for name in ("kubelet", "kube-proxy", "coredns"):
            if name in pids:
                self._terminate(pids[name])
        # Pods outlive kubelet and containerd (their shims are daemons): end them first.
        self._kill_pod_processes()
        if "containerd" in pids:
            self._terminate(pids["containerd"])
        problems = hoststate.undo_host_changes(self.paths.undo_file, node_root=self.paths.root, bridge=BRIDGE_NAME)
        if self.pid_file.exists():
            self.pid_file.unlink()
        if not problems:
            hoststate.release_host(self.state_dir)
        return problems

    # -- helpers -----------------------------------------------------------------------------
    def _ctr(self, *args: str, timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run([str(self.bin_dir / "ctr"), "--address", str(self.paths.containerd_socket), *args],
                              capture_output=True, text=True, timeout=timeout)

    def _spawn(self, name: str, args: list[str]) -> None:
        log = open(self.log_dir / f"{name}.log", "ab")
        env = {**os.environ, "PATH": f"{self.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
        proc = subprocess.Popen([str(self.bin_dir / name), *args], stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True, cwd=self.paths.root, env=env)
        log.close()
        self._pids[name] = proc.pid
        self.pid_file.write_text(json.dumps(self._pids))

    def _read_pids(self) -> dict[str, int]:
        try:
            return json.loads(self.pid_file.read_text())
        except (OSError, ValueError):
            return {}

    def _wait(self, ready: Callable[[], bool], what: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, pid in self._pids.items():
                if not pid_alive(pid, if_unreadable=False):
                    tail = (self.log_dir / f"{name}.log").read_text(errors="replace")[-3000:]
                    raise NodeError(f"{name} exited while waiting for {what}; last lines of "
                                    f"{self.log_dir / name}.log:\n{tail}")
            if ready():
                return
            time.sleep(0.5)
        raise NodeError(f"timed out after {timeout:.0f}s waiting for {what}; logs in {self.log_dir}")

    @staticmethod
    def _terminate(pid: int, grace: float = 15) -> None:
        signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while pid_alive(pid, if_unreadable=False) and time.monotonic() < deadline:
            time.sleep(0.1)
        if pid_alive(pid, if_unreadable=False):
            signal_group(pid, signal.SIGKILL)

    def _kill_pod_processes(self) -> None:
        """SIGKILL our shims (they name our containerd's socket) and every process in a pod cgroup."""
        address = str(self.paths.containerd_socket)
        victims = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes().split(b"\0")
                cgroups = (entry / "cgroup").read_text()
            except OSError:
                continue
            is_shim = cmdline and cmdline[0].endswith(b"containerd-shim-runc-v2") and address.encode() in cmdline
            if is_shim or "/kubepods" in cgroups:
                victims.append(int(entry.name))
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        while any(pid_alive(pid, if_unreadable=False) for pid in victims) and time.monotonic() < deadline:
            time.sleep(0.1)
