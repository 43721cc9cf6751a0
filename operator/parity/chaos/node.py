"""Faults injected into a pod's processes and network on a node that runs on this machine.

Processes: signals to every process of a container through containerd (`ctr task kill --all`),
SIGSTOP to freeze and SIGCONT to thaw — the pod and its network stay. Network: iptables rules in
the pod's own network namespace (`nsenter -t <pid> -n`), in a chain of ours that healing flushes
and removes; the host and every other pod keep their rules.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

from parity.drill.killers import KillError, NodeRuntime

CHAIN = "PARITY-CHAOS"


class FaultError(RuntimeError):
    """A fault could not be injected or healed; the message says which and why."""


def container_id(kube, namespace: str, pod: str, container: str) -> str:
    body = kube.request("GET", f"/api/v1/namespaces/{namespace}/pods/{pod}")
    for status in (body.get("status") or {}).get("containerStatuses") or []:
        if status.get("name") == container:
            runtime, _, cid = (status.get("containerID") or "").partition("://")
            if runtime != "containerd" or not cid:
                raise FaultError(f"{namespace}/{pod} container {container} does not run under containerd")
            return cid
    raise FaultError(f"{namespace}/{pod} has no running container {container!r}")


@dataclass
class PodFaults:
    """Faults for the containers of one namespace's pods, through the node's runtime."""

    kube: object
    namespace: str
    runtime: NodeRuntime

    def _run_ctr(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([self.runtime.ctr, "--address", self.runtime.address, "--namespace", "k8s.io", *args],
                              capture_output=True, text=True, timeout=30)

    def _ctr(self, *args: str) -> str:
        proc = self._run_ctr(*args)
        if proc.returncode != 0:
            raise FaultError(f"ctr {' '.join(args[:2])}: {(proc.stderr or proc.stdout).strip()}")
        return proc.stdout

    def signal(self, pod: str, container: str, signal: str) -> str:
        """Signals every process of the container's running instance; returns that instance's id."""
        cid = container_id(self.kube, self.namespace, pod, container)
        self._ctr("task", "kill", "--signal", signal, "--all", cid)
        return cid

    def freeze(self, pod: str, container: str) -> str:
        """SIGSTOP the container's processes; returns the instance's id, for thaw."""
        return self.signal(pod, container, "SIGSTOP")

    def thaw(self, cid: str) -> bool:
        """SIGCONT the frozen instance `cid`. False when it is gone: the kubelet's liveness probe
        killed it and started a new instance, which was never frozen, so nothing is left to thaw."""
        proc = self._run_ctr("task", "kill", "--signal", "SIGCONT", "--all", cid)
        if proc.returncode == 0:
            return True
        if "not found" in (proc.stderr + proc.stdout):
            return False
        raise FaultError(f"ctr task kill --signal SIGCONT {cid}: {(proc.stderr or proc.stdout).strip()}")

    def thaw_all(self, frozen: list[tuple[str, str]]) -> list[str]:
        """Thaw every (pod, instance id) in `frozen`, each tried even when another fails (a member
        left stopped would outlive the experiment). Returns the pods whose frozen instance the
        kubelet had replaced; FaultError after trying them all if any could not be thawed."""
        replaced, failed = [], []
        for pod, cid in frozen:
            try:
                if not self.thaw(cid):
                    replaced.append(pod)
            except (FaultError, subprocess.SubprocessError) as err:
                failed.append(f"{pod}: {err}")
        if failed:
            raise FaultError("could not thaw " + "; ".join(failed))
        return replaced

    def pid(self, pod: str, container: str) -> int:
        cid = container_id(self.kube, self.namespace, pod, container)
        for line in self._ctr("task", "ls").splitlines()[1:]:
            fields = line.split()
            if fields and fields[0] == cid:
                return int(fields[1])
        raise FaultError(f"no running task for {self.namespace}/{pod} {container}")

    def _in_netns(self, pid: int, *cmd: str, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run(["nsenter", "-t", str(pid), "-n", *cmd], capture_output=True, text=True, timeout=30)
        if check and proc.returncode != 0:
            raise FaultError(f"{' '.join(cmd)} in the pod's network namespace: {(proc.stderr or proc.stdout).strip()}")
        return proc

    def partition(self, pod: str, container: str, peers: list[str]) -> int:
        """Drop the pod's traffic to and from `peers` (IP addresses). Returns the pid whose network
        namespace holds the rules (for heal)."""
        pid = self.pid(pod, container)
        self._in_netns(pid, "iptables", "-w", "-N", CHAIN)
        for hook in ("INPUT", "OUTPUT"):
            self._in_netns(pid, "iptables", "-w", "-I", hook, "-j", CHAIN)
        for peer in peers:
            self._in_netns(pid, "iptables", "-w", "-A", CHAIN, "-s", peer, "-j", "DROP")
            self._in_netns(pid, "iptables", "-w", "-A", CHAIN, "-d", peer, "-j", "DROP")
        return pid

    def heal_partition(self, pid: int) -> None:
        """Remove our chain; a namespace that is gone (the pod was replaced) has nothing to heal."""
        for hook in ("INPUT", "OUTPUT"):
            self._in_netns(pid, "iptables", "-w", "-D", hook, "-j", CHAIN, check=False)
        self._in_netns(pid, "iptables", "-w", "-F", CHAIN, check=False)
        self._in_netns(pid, "iptables", "-w", "-X", CHAIN, check=False)


def runtime_or_error(address: str | None = None) -> NodeRuntime:
    from parity.drill.killers import local_node_runtime

    try:
        return local_node_runtime(address)
    except KillError as err:
        raise FaultError(str(err)) from None
