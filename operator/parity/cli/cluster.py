"""`parity cluster up|down|status|env`: the local control plane for machines without Docker."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from parity.cli.main import CliError
from parity.controlplane import ControlPlane, ControlPlaneError
from parity.controlplane.cluster import NODE_KINDS


def default_state_dir() -> Path:
    return Path(os.environ.get("PARITY_STATE_DIR", Path.cwd() / ".parity" / "cluster"))


def register(subparsers) -> None:
    parser = subparsers.add_parser("cluster", help="run a local Kubernetes control plane (etcd, apiserver, kwok nodes)")
    parser.add_argument("--state-dir", type=Path, default=None, help="where certificates, data, logs and the kubeconfig live (default: .parity/cluster)")
    parser.add_argument("--bin-dir", type=Path, default=None, help="directory with the control-plane binaries (default: build them, cached)")
    commands = parser.add_subparsers(dest="cluster_command", metavar="ACTION")
    commands.required = True
    up = commands.add_parser("up", help="start it and wait until its node is Ready")
    up.add_argument("--node", choices=NODE_KINDS, default=None,
                    help="kwok: a fake node, pods run nothing (default); real: containerd, kubelet, kube-proxy "
                         "and CoreDNS on this machine, pods run for real (root, one per machine)")
    up.add_argument("--node-bin-dir", type=Path, default=None,
                    help="directory with the real node's binaries (default: build them, cached)")
    up.set_defaults(func=cluster_up)
    down = commands.add_parser("down", help="stop it")
    down.add_argument("--keep-state", action="store_true", help="keep etcd data and certificates")
    down.set_defaults(func=cluster_down)
    commands.add_parser("status", help="show which processes run").set_defaults(func=cluster_status)
    commands.add_parser("env", help="print `export KUBECONFIG=...` for a shell").set_defaults(func=cluster_env)


def _plane(args) -> ControlPlane:
    try:
        return ControlPlane(args.state_dir or default_state_dir(), bin_dir=args.bin_dir,
                            node=getattr(args, "node", None), node_bin_dir=getattr(args, "node_bin_dir", None))
    except ControlPlaneError as err:
        raise CliError(str(err)) from None


def cluster_up(args) -> int:
    plane = _plane(args)
    if plane.running():
        print(f"control plane already running; KUBECONFIG={plane.kubeconfig}")
        return 0
    try:
        plane.start(progress=lambda msg: print(f"==> {msg}", file=sys.stderr, flush=True))
    except ControlPlaneError as err:
        raise CliError(str(err)) from None
    print(f"export KUBECONFIG={plane.kubeconfig}")
    return 0


def cluster_down(args) -> int:
    plane = _plane(args)
    problems = plane.stop(remove_state=not args.keep_state)
    if problems:
        raise CliError("stopped, but these host changes could not be undone:\n  - " + "\n  - ".join(problems))
    print(f"control plane stopped ({plane.state_dir})")
    return 0


def cluster_status(args) -> int:
    plane = _plane(args)
    status = plane.status()
    if not status:
        print(f"no control plane recorded in {plane.state_dir}")
        return 1
    for name, alive in status.items():
        print(f"{name:<26} {'running' if alive else 'STOPPED'}")
    if plane.node_kind == "real":
        info = plane.real_node.info()
        print(f"\nreal node {info.get('name', '?')} ({info.get('ip', '?')}), runtime {info.get('runtime', '?')}, "
              f"binaries in {info.get('bin_dir', '?')}")
        pods = plane.kubectl("get", "pods", "-A", "-o", "wide", "--field-selector",
                             f"spec.nodeName={info.get('name', '')}", check=False)
        print(pods.stdout.rstrip() or "no pods on it")
    else:
        print("\nnode: kwok (fake; pods run no processes)")
    return 0 if all(status.values()) else 1


def cluster_env(args) -> int:
    print(f"export KUBECONFIG={_plane(args).kubeconfig}")
    return 0
