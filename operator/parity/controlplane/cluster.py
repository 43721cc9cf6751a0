"""Start, wait for and stop the local control plane.

State lives in one directory (certificates, etcd data, logs, kubeconfig, a pid file), so
`parity cluster down` can stop a cluster that `parity cluster up` started in another
process, and a pytest fixture can run a private one in a temp dir.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from parity.controlplane import hoststate
from parity.controlplane.certs import CertPaths, make_certs
from parity.controlplane.node import NodeError, RealNode
from parity.controlplane.nodeconfig import BRIDGE_NAME
from parity.controlplane.restart import RESTARTABLE, health_url, override_args
from parity.controlplane import storage
from parity.procs import pid_alive, signal_group

BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl", "kwok")
KWOK_NODE = "kwok-node-0"
REPO_ROOT = Path(__file__).resolve().parents[3]
BUILD_SCRIPT = REPO_ROOT / "tools" / "controlplane" / "build.sh"
NODE_KINDS = ("kwok", "real")


class ControlPlaneError(RuntimeError):
    """The control plane could not be built, started or reached; the message says which part."""


def find_binaries(bin_dir: str | os.PathLike | None = None, *, build: bool = True) -> Path:
    """The directory holding every control-plane binary: given, from PARITY_CONTROLPLANE_BIN,
    or built (cached by pinned version) by tools/controlplane/build.sh."""
    candidate = bin_dir or os.environ.get("PARITY_CONTROLPLANE_BIN")
    if candidate:
        path = Path(candidate)
    elif BUILD_SCRIPT.exists() and build:
        proc = subprocess.run(["bash", str(BUILD_SCRIPT)], capture_output=True, text=True)
        if proc.returncode != 0:
            raise ControlPlaneError(f"building the control plane failed ({BUILD_SCRIPT}):\n{proc.stderr[-4000:]}")
        path = Path(proc.stdout.strip().splitlines()[-1])
    else:
        raise ControlPlaneError("no control-plane binaries: set PARITY_CONTROLPLANE_BIN or run tools/controlplane/build.sh")
    missing = [b for b in BINARIES if not (path / b).exists()]
    if missing:
        raise ControlPlaneError(f"{path}: missing control-plane binaries: {', '.join(missing)}")
    return path


def _built_bin_dir(target: str, env_var: str, what: str, bin_dir: str | os.PathLike | None) -> Path:
    """A bin dir: given, from `env_var`, or built (cached by pinned version) by
    `tools/controlplane/build.sh <target>`, whose last line of output names it."""
    candidate = bin_dir or os.environ.get(env_var)
    if candidate:
        return Path(candidate)
    proc = subprocess.run(["bash", str(BUILD_SCRIPT), target], stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise ControlPlaneError(f"building {what} failed ({BUILD_SCRIPT} {target}); see above")
    return Path(proc.stdout.strip().splitlines()[-1])


def find_node_binaries(bin_dir: str | os.PathLike | None = None) -> Path:
    """The directory holding the real node's binaries (PARITY_NODE_BIN, or `build.sh node`)."""
    return _built_bin_dir("node", "PARITY_NODE_BIN", "the real node's binaries", bin_dir)


STORAGE_BINARY = "local-path-provisioner"


def find_storage_binaries(bin_dir: str | os.PathLike | None = None) -> Path:
    """The directory holding local-path-provisioner, the real node's volumes (PARITY_STORAGE_BIN,
    or `build.sh storage`)."""
    return _built_bin_dir("storage", "PARITY_STORAGE_BIN", "local-path-provisioner", bin_dir)


def _import_local_images(say):
    def run(node: RealNode) -> None:
        from parity.images.catalog import import_built
        from parity.images.containerd import ImageImportError

        try:
            import_built(node.ctr, node.containerd_address, progress=lambda m: say(f"  {m}"))
        except ImageImportError as err:
            raise NodeError(str(err)) from None

    return run


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Ports:
    etcd_client: int = field(default_factory=free_port)
    etcd_peer: int = field(default_factory=free_port)
    apiserver: int = field(default_factory=free_port)
    controller_manager: int = field(default_factory=free_port)
    scheduler: int = field(default_factory=free_port)
    kwok: int = field(default_factory=free_port)


def reclaim_abandoned_node(say=lambda _msg: None) -> list[str]:
    """Undo what a real node left on this host when its processes were killed without `down`
    (a reboot-less crash, a session killed mid-test): its bridge, mounts and iptables chains
    would otherwise refuse every later real node. Only a node none of whose processes is alive
    is touched; a running one is left to preflight, which names it. Returns what could not be
    undone."""
    owner = hoststate.host_owner()
    if owner is None:
        return []
    if not owner.is_dir():
        return [f"{hoststate.HOST_OWNER_FILE} names {owner}, which is gone with the journal of what its "
                f"node changed: delete the bridge {BRIDGE_NAME} and that record by hand"]
    plane = ControlPlane(owner)
    if any(plane.status().values()) or any(RealNode(owner, Path(".")).status().values()):
        return []
    say(f"undoing what the stopped real node in {owner} left on this host")
    return plane.stop(remove_state=False)


class ControlPlane:
    """`node="kwok"`: a fake kwok node on which pods become Running without running (fast, for
    the integration tier and scale benchmarks). `node="real"`: a real node (see node.py) on
    which they run; one per machine."""

    def __init__(self, state_dir: str | os.PathLike, bin_dir: str | os.PathLike | None = None, *,
                 node: str | None = None, node_bin_dir: str | os.PathLike | None = None,
                 sandbox_image: str | None = None):
        self.state_dir = Path(state_dir).resolve()
        self._bin_dir = Path(bin_dir) if bin_dir else None
        recorded = self._recorded_node_kind()
        self.node_kind = node or recorded or "kwok"
        if self.node_kind not in NODE_KINDS:
            raise ControlPlaneError(f"node kind {self.node_kind!r}: use one of {', '.join(NODE_KINDS)}")
        self._node_bin_dir = Path(node_bin_dir) if node_bin_dir else None
        self._storage_bin_dir: Path | None = None
        self._sandbox_image = sandbox_image
        self.node_ip: str | None = None
        self.node_name: str | None = None
        self.kubeconfig = self.state_dir / "kubeconfig"
        self.log_dir = self.state_dir / "logs"
        self.pid_file = self.state_dir / "pids.json"
        self.args_file = self.state_dir / "args.json"

    # -- paths -----------------------------------------------------------------------------
    @property
    def bin_dir(self) -> Path:
        if self._bin_dir is None:
            self._bin_dir = find_binaries()
        return self._bin_dir

    def binary(self, name: str) -> str:
        if name == STORAGE_BINARY:
            if self._storage_bin_dir is None:
                self._storage_bin_dir = find_storage_binaries()
            return str(self._storage_bin_dir / name)
        return str(self.bin_dir / name)

    def _recorded_node_kind(self) -> str | None:
        try:
            return (self.state_dir / "node-kind").read_text().strip() or None
        except OSError:
            return None

    @property
    def real_node(self) -> RealNode:
        """The real node's process handle; binaries resolved from its recorded info when running."""
        bin_dir = self._node_bin_dir
        if bin_dir is None:
            info = RealNode(self.state_dir, Path(".")).info()
            bin_dir = Path(info["bin_dir"]) if info.get("bin_dir") else None
        if bin_dir is None:
            bin_dir = self._node_bin_dir = find_node_binaries()
        kwargs = {"sandbox_image": self._sandbox_image} if self._sandbox_image else {}
        return RealNode(self.state_dir, bin_dir, **kwargs)

    # -- lifecycle -------------------------------------------------------------------------
    def start(self, timeout: float = 120.0, progress=None) -> None:
        """Start every process, write the kubeconfig, and wait for a Ready kwok node and the
        default ServiceAccount. Raises ControlPlaneError naming the part that failed."""
        say = progress or (lambda _msg: None)
        if self.running():
            raise ControlPlaneError(f"a control plane is already running from {self.state_dir} (parity cluster down first)")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(exist_ok=True)
        # Resolved (and built, if need be) before anything starts, so a build failure leaves nothing running.
        say(f"control-plane binaries in {self.bin_dir}")
        node = None
        if self.node_kind == "real":
            leftovers = reclaim_abandoned_node(say)
            if leftovers:
                raise ControlPlaneError("a stopped real node's host changes could not be undone:\n  - "
                                        + "\n  - ".join(leftovers))
            node = self.real_node
            say(f"real-node binaries in {node.bin_dir}")
            say(f"volume provisioner: {self.binary(STORAGE_BINARY)}")
            problems, self.node_name, self.node_ip = node.preflight()
            from parity.images.catalog import missing_images

            not_built = missing_images()
            if not_built:
                problems.append(f"local images not built: {', '.join(not_built)} (parity images build)")
            if problems:
                raise ControlPlaneError("a real node cannot run on this machine:\n  - " + "\n  - ".join(problems))
        (self.state_dir / "node-kind").write_text(self.node_kind)
        certs = make_certs(self.state_dir / "certs", extra_ips=(self.node_ip,) if self.node_ip else ())
        ports = Ports()
        self._pids: dict[str, int] = {}
        try:
            say("starting etcd")
            self._spawn("etcd", self._etcd_args(ports))
            self._wait_http(f"http://127.0.0.1:{ports.etcd_client}/health", "etcd", timeout, lambda b: b'"true"' in b)
            say("starting kube-apiserver")
            self._spawn("kube-apiserver", self._apiserver_args(ports, certs))
            self._write_kubeconfig(ports, certs)
            self._wait_apiserver(ports, certs, timeout)
            say("starting kube-controller-manager and kube-scheduler")
            self._spawn("kube-controller-manager", self._controller_manager_args(ports, certs))
            self._spawn("kube-scheduler", self._scheduler_args(ports))
            if node is None:
                self._create_storage_class()
                say("starting kwok")
                self._spawn("kwok", self._kwok_args(ports))
                self._create_kwok_node()
                say("waiting for the kwok node and the default ServiceAccount")
                self._wait_ready(KWOK_NODE, timeout)
            else:
                node.start(apiserver_url=f"https://{self.node_ip}:{ports.apiserver}", certs=certs,
                           kubectl=self.kubectl, hostname=self.node_name, node_ip=self.node_ip,
                           timeout=timeout, say=say, import_images=_import_local_images(say))
                self._wait_ready(self.node_name, timeout)
                say("starting local-path-provisioner (the node's volumes)")
                self._start_volume_provisioner(node)
        except NodeError as err:
            self.stop(remove_state=False)
            raise ControlPlaneError(f"the real node failed to start: {err}") from None
        except BaseException:
            self.stop(remove_state=False)
            raise
        say(f"control plane ready: KUBECONFIG={self.kubeconfig}")

    def stop(self, remove_state: bool = False) -> list[str]:
        """Stop the real node (undoing its host changes), then every control-plane process
        recorded in the pid file (in reverse start order). Returns what could not be undone."""
        problems: list[str] = []
        if self._recorded_node_kind() == "real":
            node_state = RealNode(self.state_dir, Path("."))
            if node_state.pid_file.exists() or node_state.paths.undo_file.exists():
                problems = self.real_node.stop()
        pids = self._read_pids()
        for name in reversed(list(pids)):
            signal_group(pids[name], signal.SIGTERM)
        deadline = time.monotonic() + 15
        for name in reversed(list(pids)):
            while pid_alive(pids[name], if_unreadable=False) and time.monotonic() < deadline:
                time.sleep(0.1)
            if pid_alive(pids[name], if_unreadable=False):
                signal_group(pids[name], signal.SIGKILL)
        if self.pid_file.exists():
            self.pid_file.unlink()
        if remove_state and self.state_dir.exists() and not problems:
            shutil.rmtree(self.state_dir, ignore_errors=True)
        return problems

    def running(self) -> bool:
        status = self.status()
        return bool(status) and all(status.values())

    def status(self) -> dict[str, bool]:
        status = {name: pid_alive(pid, if_unreadable=False) for name, pid in self._read_pids().items()}
        if status and self._recorded_node_kind() == "real":
            status.update(RealNode(self.state_dir, Path(".")).status())
        return status

    def restart(self, name: str, *, extra_args: tuple[str, ...] = (), down_seconds: float = 0.0,
                timeout: float = 120.0) -> float:
        """Stop one process (etcd or kube-apiserver: restart.RESTARTABLE) with SIGTERM, keep it down
        for `down_seconds`, start it again with its recorded arguments (`extra_args` override
        flags of the same name) and wait until it is healthy. Returns the seconds it was away."""
        if name not in RESTARTABLE:
            raise ControlPlaneError(f"cannot restart {name!r}: only {', '.join(RESTARTABLE)}")
        pids, recorded = self._read_pids(), self._read_args()
        if name not in pids or name not in recorded:
            raise ControlPlaneError(f"{name} was not started from {self.state_dir}")
        args = override_args(recorded[name], extra_args)
        started = time.monotonic()
        signal_group(pids[name], signal.SIGTERM)
        deadline = started + 15
        while pid_alive(pids[name], if_unreadable=False) and time.monotonic() < deadline:
            time.sleep(0.05)
        if pid_alive(pids[name], if_unreadable=False):
            signal_group(pids[name], signal.SIGKILL)
        time.sleep(down_seconds)
        self._pids = pids
        self._spawn(name, args)
        context = None
        if name == "kube-apiserver":
            # The files start() made (make_certs would re-issue the serving one without the node IP).
            cert_dir = self.state_dir / "certs"
            context = ssl.create_default_context(cafile=str(cert_dir / "ca.crt"))
            context.load_cert_chain(str(cert_dir / "admin.crt"), str(cert_dir / "admin.key"))
        self._wait_http(health_url(name, args), name, timeout,
                        (lambda b: b'"true"' in b) if name == "etcd" else (lambda b: b.strip() == b"ok"), context=context,
                        only=name)
        return time.monotonic() - started

    # -- helpers ---------------------------------------------------------------------------
    def wait_established(self, *crds: str, timeout: float = 60) -> None:
        """Until each CRD (by name) is Established. Not `kubectl wait`: right after the apply a
        CRD's status.conditions can be null, and kubectl 1.34 then fails instead of waiting."""
        deadline = time.monotonic() + timeout
        for name in crds:
            name = name.removeprefix("crd/")
            while True:
                proc = self.kubectl("get", "crd", name, "-o", "json", check=False)
                if proc.returncode == 0:
                    conditions = (json.loads(proc.stdout).get("status") or {}).get("conditions") or []
                    if any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions):
                        break
                if time.monotonic() > deadline:
                    raise ControlPlaneError(f"CRD {name} not Established after {timeout:.0f}s: {proc.stderr.strip()}")
                time.sleep(0.5)

    def kubectl(self, *args: str, input: str | None = None, check: bool = True, timeout: float = 120):
        """Run this control plane's own kubectl against it (text mode, output captured)."""
        proc = subprocess.run(
            [self.binary("kubectl"), "--kubeconfig", str(self.kubeconfig), *args],
            input=input, capture_output=True, text=True, timeout=timeout,
        )
        if check and proc.returncode != 0:
            raise ControlPlaneError(f"kubectl {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}")
        return proc

    def env(self) -> dict[str, str]:
        """Environment variables that point kubectl and clients at this control plane."""
        return {"KUBECONFIG": str(self.kubeconfig), "PATH": f"{self.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}

    def _spawn(self, name: str, args: list[str]) -> None:
        log = open(self.log_dir / f"{name}.log", "ab")
        proc = subprocess.Popen(
            [self.binary(name), *args], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, cwd=self.state_dir,
        )
        log.close()
        self._pids[name] = proc.pid
        self.pid_file.write_text(json.dumps(self._pids))
        # What restart() starts it with again.
        self.args_file.write_text(json.dumps({**self._read_args(), name: args}))

    def _read_args(self) -> dict[str, list[str]]:
        try:
            return json.loads(self.args_file.read_text())
        except (OSError, ValueError):
            return {}

    def _read_pids(self) -> dict[str, int]:
        try:
            return json.loads(self.pid_file.read_text())
        except (OSError, ValueError):
            return {}

    def _check_alive(self, only: str | None = None) -> None:
        for name, pid in self._pids.items():
            if only is not None and name != only:
                continue
            if not pid_alive(pid, if_unreadable=False):
                tail = (self.log_dir / f"{name}.log").read_text(errors="replace")[-3000:]
                raise ControlPlaneError(f"{name} exited during start-up; last lines of {self.log_dir / name}.log:\n{tail}")

    def _wait_http(self, url: str, what: str, timeout: float, ok, context=None, only: str | None = None) -> None:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            self._check_alive(only)
            try:
                with urllib.request.urlopen(url, timeout=2, context=context) as resp:
                    body = resp.read()
                    if ok(body):
                        return
                    last = body[:200].decode(errors="replace")
            except OSError as err:
                last = str(err)
            time.sleep(0.2)
        raise ControlPlaneError(f"{what} at {url} did not become healthy within {timeout:.0f}s: {last}")

    def _wait_apiserver(self, ports: Ports, certs: CertPaths, timeout: float) -> None:
        context = ssl.create_default_context(cafile=str(certs.ca_crt))
        context.load_cert_chain(str(certs.admin_crt), str(certs.admin_key))
        self._wait_http(f"https://127.0.0.1:{ports.apiserver}/readyz", "kube-apiserver", timeout,
                        lambda b: b.strip() == b"ok", context=context)

    def _wait_ready(self, node_name: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            node = self.kubectl("get", "node", node_name, "-o",
                                "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}", check=False)
            sa = self.kubectl("get", "serviceaccount", "default", "-n", "default", "-o", "name", check=False)
            if node.stdout.strip() == "True" and sa.returncode == 0:
                return
            time.sleep(0.3)
        raise ControlPlaneError(f"the node {node_name} or the default ServiceAccount was not ready within {timeout:.0f}s")

    # -- arguments -------------------------------------------------------------------------
    def _etcd_args(self, p: Ports) -> list[str]:
        return [
            "--name=parity-local",
            f"--data-dir={self.state_dir / 'etcd'}",
            f"--listen-client-urls=http://127.0.0.1:{p.etcd_client}",
            f"--advertise-client-urls=http://127.0.0.1:{p.etcd_client}",
            f"--listen-peer-urls=http://127.0.0.1:{p.etcd_peer}",
            f"--initial-advertise-peer-urls=http://127.0.0.1:{p.etcd_peer}",
            f"--initial-cluster=parity-local=http://127.0.0.1:{p.etcd_peer}",
            # A throwaway dev/test store: losing it on a power cut is fine, fsync latency is not.
            "--unsafe-no-fsync",
            "--quota-backend-bytes=2147483648",
        ]

    def _apiserver_args(self, p: Ports, c: CertPaths) -> list[str]:
        return [
            f"--etcd-servers=http://127.0.0.1:{p.etcd_client}",
            f"--cert-dir={self.state_dir / 'certs'}",
            f"--tls-cert-file={c.serving_crt}",
            f"--tls-private-key-file={c.serving_key}",
            f"--client-ca-file={c.ca_crt}",
            # With a real node, pods reach the API server through the `kubernetes` Service, whose
            # endpoint is the advertised address: loopback would be invalid there.
            f"--bind-address={'0.0.0.0' if self.node_ip else '127.0.0.1'}",
            f"--advertise-address={self.node_ip or '127.0.0.1'}",
            f"--secure-port={p.apiserver}",
            # kubectl logs/exec: the API server calls the kubelet as the admin user.
            f"--kubelet-client-certificate={c.admin_crt}",
            f"--kubelet-client-key={c.admin_key}",
            "--kubelet-preferred-address-types=InternalIP,Hostname",
            "--service-cluster-ip-range=10.96.0.0/16",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={c.sa_pub}",
            f"--service-account-signing-key-file={c.sa_key}",
            "--authorization-mode=RBAC,Node",
            "--allow-privileged=true",
            "--enable-priority-and-fairness=false",
            "--storage-media-type=application/json",
        ]

    def _controller_manager_args(self, p: Ports, c: CertPaths) -> list[str]:
        return [
            f"--kubeconfig={self.kubeconfig}",
            f"--authentication-kubeconfig={self.kubeconfig}",
            f"--authorization-kubeconfig={self.kubeconfig}",
            f"--service-account-private-key-file={c.sa_key}",
            f"--root-ca-file={c.ca_crt}",
            "--use-service-account-credentials=true",
            "--leader-elect=false",
            # The default client limit (20 QPS) starves workload status updates while namespaces
            # are being torn down around them; one local apiserver can take far more.
            "--kube-api-qps=200",
            "--kube-api-burst=400",
            "--concurrent-statefulset-syncs=10",
            # kwok's node heartbeats can run late on a loaded laptop; a fake node is not a
            # failed machine, so give it minutes before its pods are marked not ready.
            "--node-monitor-grace-period=5m",
            # Bind dynamically provisioned volumes within seconds, not on the 15 s default resync.
            "--pvclaimbinder-sync-period=2s",
            "--concurrent-deployment-syncs=10",
            "--bind-address=127.0.0.1",
            f"--secure-port={p.controller_manager}",
            f"--cert-dir={self.state_dir / 'certs' / 'kcm'}",
            # No cloud and no real nodes: node IPAM and the service/route controllers have nothing to do.
            # Kubernetes' own host-path provisioner (for single-node dev/test clusters) gives
            # PersistentVolumeClaims real PersistentVolumes, so StatefulSets with volume
            # claim templates schedule; see _create_storage_class.
            "--enable-hostpath-provisioner=true",
            "--controllers=*,-node-ipam-controller,-service-lb-controller,-cloud-node-lifecycle-controller,-node-route-controller",
        ]

    def _scheduler_args(self, p: Ports) -> list[str]:
        return [
            f"--kubeconfig={self.kubeconfig}",
            "--kube-api-qps=200",
            "--kube-api-burst=400",
            f"--authentication-kubeconfig={self.kubeconfig}",
            f"--authorization-kubeconfig={self.kubeconfig}",
            "--leader-elect=false",
            "--bind-address=127.0.0.1",
            f"--secure-port={p.scheduler}",
            f"--cert-dir={self.state_dir / 'certs' / 'scheduler'}",
        ]

    def _kwok_args(self, p: Ports) -> list[str]:
        return [
            f"--kubeconfig={self.kubeconfig}",
            "--manage-all-nodes=false",
            "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
            # Without a lease kwok never renewed its nodes' heartbeat: five minutes after a node
            # was made (the grace period below), the node controller marked every pod on it not
            # ready, kwok made them ready again, and so on each minute: 540 of 1,200 pods a minute
            # in the scale benchmark, each a status write and a sync. 40 s is the kubelet's default.
            "--node-lease-duration-seconds=40",
            "--cidr=10.244.0.0/16",
            "--node-ip=10.244.0.1",
            f"--server-address=127.0.0.1:{p.kwok}",
        ]

    def _write_kubeconfig(self, p: Ports, c: CertPaths) -> None:
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "parity-local", "cluster": {
                "server": f"https://127.0.0.1:{p.apiserver}", "certificate-authority": str(c.ca_crt)}}],
            "users": [{"name": "parity-admin", "user": {
                "client-certificate": str(c.admin_crt), "client-key": str(c.admin_key)}}],
            "contexts": [{"name": "parity-local", "context": {"cluster": "parity-local", "user": "parity-admin",
                                                               "namespace": "default"}}],
            "current-context": "parity-local",
        }
        self.kubeconfig.write_text(yaml.safe_dump(config, sort_keys=False))

    def _create_storage_class(self) -> None:
        self.kubectl("apply", "-f", "-", input=json.dumps(STORAGE_CLASS))

    def _start_volume_provisioner(self, node: RealNode) -> None:
        from parity.images.recipes import recipe

        helper_image = recipe(storage.HELPER_RECIPE).reference
        node.paths.volumes.mkdir(parents=True, exist_ok=True)
        objects = storage.build_storage_objects(node.paths.volumes, helper_image)
        self.kubectl("apply", "--server-side", "--force-conflicts", "--field-manager=parity-node", "-f", "-",
                     input=json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}))
        self._spawn(STORAGE_BINARY, storage.provisioner_args(self.kubeconfig, helper_image))

    def _create_kwok_node(self) -> None:
        node = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": KWOK_NODE,
                "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
                "labels": {"kubernetes.io/hostname": KWOK_NODE, "kubernetes.io/os": "linux",
                           "kubernetes.io/arch": "amd64", "type": "kwok"},
            },
            "spec": {},
            "status": {"allocatable": {"cpu": "64", "memory": "256Gi", "pods": "1000"},
                       "capacity": {"cpu": "64", "memory": "256Gi", "pods": "1000"}},
        }
        self.kubectl("apply", "-f", "-", input=json.dumps(node))


# The kwok tier's class (pods there run nothing, so who may write a volume does not matter);
# the real node's is local-path-provisioner's (storage.py).
STORAGE_CLASS = {
    "apiVersion": "storage.k8s.io/v1",
    "kind": "StorageClass",
    # The same name as kind's default class, so manifests behave alike on both.
    "metadata": {"name": "standard", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
    "provisioner": "kubernetes.io/host-path",
    "reclaimPolicy": "Delete",
    "volumeBindingMode": "Immediate",
}

