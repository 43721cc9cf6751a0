"""Ways to take a leader down, behind one small interface.

- LocalProcessKiller: the leader runs on this machine (the runtime tests, a laptop harness):
  SIGKILL the processes listening on its ports (Patroni's REST port and the postmaster's, or the
  Redis port) and the postmaster's children, like a node that lost power.
- CommandKiller: any command the user supplies (`docker kill {member}`, `ssh {host} ...`).
- PodKiller: in a cluster, delete the leader's pod with no grace period.
- ContainerKiller: in a cluster whose node runs on this machine, SIGKILL the leader's container
  through containerd (the pod stays; the kubelet restarts the container).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import shlex
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from parity.procs import children_of, pid_alive

LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


class KillError(RuntimeError):
    """The leader could not be taken down; the message says which one and why."""


@dataclass(frozen=True)
class KillTarget:
    component: str  # "postgres" or "redis"
    member: str  # Patroni member name, or the Redis address
    host: str
    port: int  # PostgreSQL or Redis port
    api_url: str | None = None  # Patroni's REST API of that member


class LeaderKiller(Protocol):
    async def kill(self, target: KillTarget) -> str:
        """Take the target down; return a short description of what was done."""


# --------------------------------------------------------------------------------------- local


def is_local_host(host: str) -> bool:
    if host in LOCAL_HOSTS:
        return True
    with contextlib.suppress(ValueError):
        return ipaddress.ip_address(host).is_loopback
    return False


def _listening_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if len(fields) > 9 and fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(fields[9])
    return inodes


def find_listening_pids(port: int) -> list[int]:
    """Processes with a TCP socket listening on `port` (via /proc; root sees all, others their own)."""
    targets = {f"socket:[{inode}]" for inode in _listening_inodes(port)}
    if not targets:
        return []
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in (entry / "fd").iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) in targets:
                        found.append(int(entry.name))
                        break
    return sorted(found)


def _port_of(url: str | None) -> int | None:
    if not url:
        return None
    parts = urlsplit(url if "://" in url else f"http://{url}")
    return parts.port


class LocalProcessKiller:
    """SIGKILL whatever listens on the leader's ports, and the postmaster's children."""

    def __init__(self, wait_seconds: float = 10.0):
        self.wait_seconds = wait_seconds

    async def kill(self, target: KillTarget) -> str:
        if not is_local_host(target.host):
            raise KillError(
                f"{target.member} runs on {target.host}, not on this machine: use --kill-command or cluster mode"
            )
        ports = [p for p in (_port_of(target.api_url), target.port) if p]
        pids = [pid for port in ports for pid in find_listening_pids(port)]
        if not pids:
            listed = ", ".join(map(str, ports))
            raise KillError(f"no process of ours listens on {target.host}:{listed} ({target.member})")
        # PostgreSQL's children call setsid(): no process group covers them, so list them before
        # their parent dies and they are re-parented.
        victims = list(dict.fromkeys(pids + [c for pid in pids for c in children_of(pid)]))
        for pid in victims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait_seconds
        while any(pid_alive(p) for p in pids) and loop.time() < deadline:
            await asyncio.sleep(0.02)
        return f"SIGKILL pids {', '.join(map(str, victims))} ({target.member})"


# ------------------------------------------------------------------------------------- command


class CommandKiller:
    """Run a shell command; {member}, {host}, {port} and {api_url} are filled in, shell-quoted."""

    def __init__(self, template: str, timeout: float = 60.0):
        self.template = template
        self.timeout = timeout

    def command_for(self, target: KillTarget) -> str:
        return self.template.format(
            member=shlex.quote(target.member),
            host=shlex.quote(target.host),
            port=target.port,
            api_url=shlex.quote(target.api_url or ""),
        )

    async def kill(self, target: KillTarget) -> str:
        try:
            command = self.command_for(target)
        except (KeyError, IndexError, ValueError) as err:
            raise KillError(
                f"--kill-command {self.template!r}: unknown placeholder {err}; "
                "use {member} {host} {port} {api_url}"
            ) from None
        process = await asyncio.create_subprocess_shell(
            command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, start_new_session=True
        )
        try:
            _, stderr = await asyncio.wait_for(process.communicate(), self.timeout)
        except asyncio.TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            raise KillError(f"kill command did not finish within {self.timeout:.0f}s: {command}") from None
        if process.returncode != 0:
            reason = stderr.decode(errors="replace").strip()[:300]
            raise KillError(f"kill command exited {process.returncode}: {command}: {reason}")
        return f"ran {command}"


# ----------------------------------------------------------------------------------------- pod


class PodKiller:
    """Delete the leader's pod (grace period 0) through the Kubernetes API.

    Patroni members are named after their pods; Redis nodes are found by the first label of
    their announced DNS name, or by pod IP among the environment's pods.
    """

    def __init__(self, kube, namespace: str, env_name: str):
        self.kube = kube
        self.namespace = namespace
        self.env_name = env_name

    def _pod_for(self, target: KillTarget) -> str:
        from parity import constants

        if target.component == "postgres":
            return target.member
        with contextlib.suppress(ValueError):
            ipaddress.ip_address(target.host)
            selector = f"{constants.LABEL_ENVIRONMENT}={self.env_name}"
            pods = self.kube.request(
                "GET", f"/api/v1/namespaces/{self.namespace}/pods", query=[("labelSelector", selector)]
            )
            for pod in pods.get("items", []):
                if (pod.get("status") or {}).get("podIP") == target.host:
                    return pod["metadata"]["name"]
            raise KillError(f"no pod of {self.namespace}/{self.env_name} has IP {target.host}")
        return target.host.split(".", 1)[0]

    async def kill(self, target: KillTarget) -> str:
        pod = await asyncio.to_thread(self._pod_for, target)
        path = f"/api/v1/namespaces/{self.namespace}/pods/{pod}"
        try:
            await asyncio.to_thread(self.kube.request, "DELETE", path, query=[("gracePeriodSeconds", "0")])
        except Exception as err:  # noqa: BLE001 - KubeError or a transport error, reported as one
            raise KillError(f"cannot delete pod {self.namespace}/{pod}: {err}") from None
        return f"deleted pod {self.namespace}/{pod}"



# ---------------------------------------------------------------------------- container runtime


@dataclass(frozen=True)
class NodeRuntime:
    """The container runtime of a node on this machine: its `ctr` and containerd socket."""

    ctr: str
    address: str


def local_node_runtime(address: str | None = None, state_dir: str | os.PathLike | None = None) -> NodeRuntime:
    """The runtime of the real node `parity cluster up --node real` runs here (state in
    PARITY_STATE_DIR or .parity/cluster), or of the socket given (`address`,
    PARITY_CONTAINERD_ADDRESS) with `ctr` from that node's binaries or PATH."""
    import shutil

    from parity.controlplane.node import RealNode

    node = RealNode(Path(state_dir or os.environ.get("PARITY_STATE_DIR") or Path.cwd() / ".parity" / "cluster"),
                    Path("."))
    info = node.info()
    address = address or os.environ.get("PARITY_CONTAINERD_ADDRESS")
    if not address:
        if not node.paths.containerd_socket.exists():
            raise KillError(f"no containerd socket at {node.paths.containerd_socket}: --kill process needs the "
                            "node on this machine (parity cluster up --node real), or --containerd-address SOCKET")
        address = str(node.paths.containerd_socket)
    candidates = [Path(info["bin_dir"]) / "ctr"] if info.get("bin_dir") else []
    ctr = next((str(c) for c in candidates if c.exists()), None) or shutil.which("ctr")
    if ctr is None:
        raise KillError("no ctr binary (containerd's client): put it on PATH for --kill process")
    return NodeRuntime(ctr, address)


class ContainerKiller:
    """SIGKILL every process of the leader's container through the node's container runtime, as
    a crash or the OOM killer would. The pod stays; the kubelet restarts the container, so the
    same member may lead again (Patroni keeps a leader key that has not expired)."""

    def __init__(self, kube, namespace: str, env_name: str, runtime: NodeRuntime, wait_seconds: float = 10.0):
        self.pods = PodKiller(kube, namespace, env_name)
        self.kube = kube
        self.namespace = namespace
        self.runtime = runtime
        self.wait_seconds = wait_seconds

    def _container_id(self, pod: str, container: str) -> str:
        body = self.kube.request("GET", f"/api/v1/namespaces/{self.namespace}/pods/{pod}")
        for status in (body.get("status") or {}).get("containerStatuses") or []:
            if status.get("name") == container:
                runtime, _, cid = (status.get("containerID") or "").partition("://")
                if runtime != "containerd" or not cid:
                    raise KillError(f"{self.namespace}/{pod} container {container} runs under {runtime or 'nothing'}"
                                    " (not containerd): use --kill pod or --kill-command")
                return cid
        raise KillError(f"{self.namespace}/{pod} has no running container {container!r}")

    async def _ctr(self, *args: str) -> tuple[int, str]:
        proc = await asyncio.create_subprocess_exec(
            self.runtime.ctr, "--address", self.runtime.address, "--namespace", "k8s.io", *args,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        out, _ = await asyncio.wait_for(proc.communicate(), self.wait_seconds)
        return proc.returncode, out.decode(errors="replace").strip()

    async def kill(self, target: KillTarget) -> str:
        pod = await asyncio.to_thread(self.pods._pod_for, target)
        try:
            cid = await asyncio.to_thread(self._container_id, pod, target.component)
        except KillError:
            raise
        except Exception as err:  # noqa: BLE001 - KubeError or a transport error, reported as one
            raise KillError(f"cannot read pod {self.namespace}/{pod}: {err}") from None
        code, out = await self._ctr("task", "kill", "--signal", "SIGKILL", "--all", cid)
        if code != 0:
            raise KillError(f"ctr task kill {cid[:12]} ({self.namespace}/{pod}) failed: {out}")
        # Until the task is no longer running: then the kill has happened, not just been asked for.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait_seconds
        while loop.time() < deadline:
            code, out = await self._ctr("task", "ls")
            if code != 0 or not any(line.startswith(cid) and "RUNNING" in line for line in out.splitlines()):
                break
            await asyncio.sleep(0.05)
        return f"SIGKILL every process of container {target.component} in pod {self.namespace}/{pod} ({cid[:12]})"
