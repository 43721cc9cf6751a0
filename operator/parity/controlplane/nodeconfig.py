"""Configuration files of the real node, as pure functions of explicit paths and addresses.

The node is one machine's worth of host processes: containerd (with runc and a bridge CNI),
kubelet, kube-proxy in iptables mode, and CoreDNS answering the cluster domain. Everything
they write lives under one state directory, so `parity cluster down` knows what to undo.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

# Pod and Service ranges; the control plane's service range and the CNI subnet must agree.
POD_CIDR = "10.244.0.0/16"
NODE_POD_SUBNET = "10.244.0.0/24"
SERVICE_CIDR = "10.96.0.0/16"
CLUSTER_DNS_IP = "10.96.0.10"
CLUSTER_DOMAIN = "cluster.local"
# The bridge every pod's veth is plugged into; at most 15 characters (IFNAMSIZ).
BRIDGE_NAME = "parity0"
CNI_NETWORK_NAME = "parity"
# CoreDNS runs on the host, on the node's address: the kube-dns Service has no selector and an
# EndpointSlice naming this port, so kube-proxy sends 10.96.0.10:53 to it.
COREDNS_PORT = 1053
REAL_NODE_LABEL = "parity.dev/node"


@dataclass(frozen=True)
class NodePaths:
    """Everything the node writes, under one directory."""

    root: Path

    @property
    def containerd_root(self) -> Path:
        return self.root / "containerd" / "root"

    @property
    def containerd_state(self) -> Path:
        return self.root / "containerd" / "state"

    @property
    def containerd_socket(self) -> Path:
        return self.root / "containerd" / "containerd.sock"

    @property
    def containerd_config(self) -> Path:
        return self.root / "containerd" / "config.toml"

    @property
    def cni_conf_dir(self) -> Path:
        return self.root / "cni" / "net.d"

    @property
    def cni_data_dir(self) -> Path:
        return self.root / "cni" / "ipam"

    @property
    def volumes(self) -> Path:
        """Where local-path-provisioner makes each PersistentVolume's directory (see storage.py)."""
        return self.root / "volumes"

    @property
    def kubelet_root(self) -> Path:
        return self.root / "kubelet"

    @property
    def kubelet_config(self) -> Path:
        return self.root / "kubelet-config.yaml"

    @property
    def pod_logs(self) -> Path:
        return self.root / "pod-logs"

    @property
    def kube_proxy_config(self) -> Path:
        return self.root / "kube-proxy-config.yaml"

    @property
    def corefile(self) -> Path:
        return self.root / "Corefile"

    @property
    def undo_file(self) -> Path:
        return self.root / "host-changes.json"


def _toml_string(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid TOML basic string


def build_containerd_config(paths: NodePaths, *, runc: Path, cni_bin_dir: Path, sandbox_image: str) -> str:
    """containerd 2 (config version 3) for the CRI: overlayfs, runc with cgroupfs, one CNI dir.

    `restrict_oom_score_adj`: this kind of VM lacks CAP_SYS_RESOURCE in its bounding set, so
    runc cannot lower a container's oom_score_adj below the parent's; without it every pod
    sandbox fails with "can't get final child's PID from pipe: EOF".
    """
    cri_runtime = "plugins.'io.containerd.cri.v1.runtime'"
    cri_images = "plugins.'io.containerd.cri.v1.images'"
    return "\n".join([
        "version = 3",
        f"root = {_toml_string(str(paths.containerd_root))}",
        f"state = {_toml_string(str(paths.containerd_state))}",
        # Snapshotters that need kernel features or tools this node does not use.
        "disabled_plugins = ['io.containerd.snapshotter.v1.btrfs', 'io.containerd.snapshotter.v1.zfs',"
        " 'io.containerd.snapshotter.v1.devmapper', 'io.containerd.snapshotter.v1.aufs',"
        " 'io.containerd.nri.v1.nri']",
        "",
        "[grpc]",
        f"  address = {_toml_string(str(paths.containerd_socket))}",
        "",
        "[plugins.'io.containerd.internal.v1.opt']",
        f"  path = {_toml_string(str(paths.root / 'containerd' / 'opt'))}",
        "",
        f"[{cri_images}]",
        "  snapshotter = 'overlayfs'",
        f"[{cri_images}.pinned_images]",
        f"  sandbox = {_toml_string(sandbox_image)}",
        "",
        f"[{cri_runtime}]",
        "  restrict_oom_score_adj = true",
        "  enable_selinux = false",
        f"[{cri_runtime}.containerd]",
        "  default_runtime_name = 'runc'",
        f"[{cri_runtime}.containerd.runtimes.runc]",
        "  runtime_type = 'io.containerd.runc.v2'",
        f"[{cri_runtime}.containerd.runtimes.runc.options]",
        f"  BinaryName = {_toml_string(str(runc))}",
        "  SystemdCgroup = false",
        f"[{cri_runtime}.cni]",
        f"  bin_dirs = [{_toml_string(str(cni_bin_dir))}]",
        f"  conf_dir = {_toml_string(str(paths.cni_conf_dir))}",
        "",
        "[plugins.'io.containerd.grpc.v1.cri']",
        # kubectl exec/logs/port-forward stream through the kubelet; keep the server local.
        "  stream_server_address = '127.0.0.1'",
        "  stream_server_port = '0'",
        "",
    ])


def build_cni_config(paths: NodePaths) -> dict:
    """One bridge network: every pod on the node gets a veth on BRIDGE_NAME and an address from
    NODE_POD_SUBNET; traffic leaving the pod range is masqueraded to the node's address."""
    return {
        "cniVersion": "1.0.0",
        "name": CNI_NETWORK_NAME,
        "plugins": [
            {
                "type": "bridge",
                "bridge": BRIDGE_NAME,
                "isGateway": True,
                "ipMasq": True,
                # A pod that reaches itself through a Service needs its packets back on its own port.
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": NODE_POD_SUBNET}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                    "dataDir": str(paths.cni_data_dir),
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }


def build_kubelet_config(paths: NodePaths, *, ca_file: Path, containerd_socket: Path,
                         healthz_port: int, cgroup_v1: bool) -> dict:
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(ca_file)},
        },
        "authorization": {"mode": "Webhook"},
        "containerRuntimeEndpoint": f"unix://{containerd_socket}",
        # No systemd as PID 1 on these machines: cgroupfs, like containerd's runc options.
        "cgroupDriver": "cgroupfs",
        # kubelet 1.34 refuses cgroup v1 hosts unless told otherwise; many VMs are still hybrid.
        **({"failCgroupV1": False} if cgroup_v1 else {}),
        "clusterDNS": [CLUSTER_DNS_IP],
        "clusterDomain": CLUSTER_DOMAIN,
        "failSwapOn": False,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": healthz_port,
        "readOnlyPort": 0,
        "podLogsDir": str(paths.pod_logs),
        # A laptop's disk is shared with everything else: evict only when it is really full.
        "evictionHard": {"memory.available": "100Mi", "nodefs.available": "2%", "imagefs.available": "2%",
                         "nodefs.inodesFree": "2%"},
        "imageGCHighThresholdPercent": 99,
        "imageGCLowThresholdPercent": 98,
        "serializeImagePulls": False,
        "maxPods": 110,
        # kubelet would otherwise set kernel.panic and friends for a production machine.
        "protectKernelDefaults": False,
        "makeIPTablesUtilChains": True,
        "resolvConf": "/etc/resolv.conf",
        "registerNode": True,
        "rotateCertificates": False,
        "serverTLSBootstrap": False,
        "staticPodPath": "",
        "nodeStatusReportFrequency": "10s",
        "shutdownGracePeriod": "0s",
    }


def build_kube_proxy_config(*, kubeconfig: Path, hostname: str, healthz_port: int, metrics_port: int) -> dict:
    return {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "mode": "iptables",
        "clientConnection": {"kubeconfig": str(kubeconfig)},
        "hostnameOverride": hostname,
        "clusterCIDR": POD_CIDR,
        "bindAddress": "0.0.0.0",
        "healthzBindAddress": f"127.0.0.1:{healthz_port}",
        "metricsBindAddress": f"127.0.0.1:{metrics_port}",
        # Leave the host's conntrack table size and timeouts alone (they are host-wide sysctls).
        "conntrack": {"maxPerCore": 0, "min": 0, "tcpEstablishedTimeout": "0s", "tcpCloseWaitTimeout": "0s"},
        # NodePorts on 127.0.0.1 would need net.ipv4.conf.all.route_localnet=1 host-wide.
        "iptables": {"localhostNodePorts": False, "masqueradeAll": False, "syncPeriod": "30s",
                     "minSyncPeriod": "0s"},
    }


def build_corefile(*, kubeconfig: Path, bind_address: str, port: int, health_port: int) -> str:
    """Answers the cluster domain from the API server; nothing else (pods here need no outside
    names, and no query should leave the machine)."""
    return f"""{CLUSTER_DOMAIN}:{port} in-addr.arpa:{port} ip6.arpa:{port} {{
    bind {bind_address}
    errors
    health 127.0.0.1:{health_port}
    kubernetes {CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {{
        kubeconfig {kubeconfig}
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 5
    }}
    cache 5
}}
.:{port} {{
    bind {bind_address}
    errors
    template ANY ANY {{
        rcode NXDOMAIN
    }}
}}
"""


def build_dns_objects(node_ip: str) -> list[dict]:
    """The kube-dns Service (no selector) and the EndpointSlice that points it at CoreDNS on the
    host, plus the read-only RBAC CoreDNS needs for the cluster domain."""
    ports = [("dns", "UDP"), ("dns-tcp", "TCP")]
    return [
        {
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "kube-dns", "namespace": "kube-system",
                         "labels": {"k8s-app": "kube-dns", "kubernetes.io/name": "CoreDNS"}},
            "spec": {"clusterIP": CLUSTER_DNS_IP,
                     "ports": [{"name": n, "port": 53, "protocol": p, "targetPort": COREDNS_PORT} for n, p in ports]},
        },
        {
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": "kube-dns-host", "namespace": "kube-system",
                         "labels": {"kubernetes.io/service-name": "kube-dns",
                                    "endpointslice.kubernetes.io/managed-by": "parity.dev-node"}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [node_ip], "conditions": {"ready": True}}],
            "ports": [{"name": n, "port": COREDNS_PORT, "protocol": p} for n, p in ports],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "parity:coredns"},
            "rules": [
                {"apiGroups": [""], "resources": ["services", "pods", "namespaces"], "verbs": ["list", "watch"]},
                {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["list", "watch"]},
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": "parity:coredns"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "parity:coredns"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "parity-coredns"}],
        },
    ]
