"""What an experiment runs against: the environment's endpoints and credentials, the node's
fault injector, the seed and the fault's duration. Built by `parity chaos run`."""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from parity.chaos.node import PodFaults
from parity.chaos.report import ChaosReport


@dataclass
class ChaosContext:
    kube: Any
    namespace: str
    name: str
    seed: int
    duration: float
    endpoints: Any  # parity.probes.endpoints.ServiceEndpoints
    credentials: Any  # parity.probes.endpoints.Credentials
    spec: Any  # parity.api.models.EnvironmentSpec
    faults: PodFaults
    conninfo: str | None = None  # PostgreSQL through the primary Service

    def pods(self, component: str) -> list[dict]:
        selector = f"app.kubernetes.io/instance={self.name},app.kubernetes.io/component={component}"
        items = self.kube.request("GET", f"/api/v1/namespaces/{self.namespace}/pods",
                                  query=[("labelSelector", selector)]).get("items", [])
        return sorted(items, key=lambda p: p["metadata"]["name"])

    def pod_of_address(self, host: str) -> str:
        """A pod named by its DNS name (`<pod>.<service>...`) or its IP."""
        try:
            ipaddress.ip_address(host)
        except ValueError:
            return host.split(".", 1)[0]
        items = self.kube.request("GET", f"/api/v1/namespaces/{self.namespace}/pods").get("items", [])
        for pod in items:
            if (pod.get("status") or {}).get("podIP") == host:
                return pod["metadata"]["name"]
        raise LookupError(f"no pod in {self.namespace} has IP {host}")


@dataclass
class Timeline:
    report: ChaosReport
    started: float = field(default_factory=time.monotonic)

    def add(self, what: str) -> None:
        self.report.timeline.append((time.monotonic() - self.started, what))


def wait(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.25) -> Any:
    """predicate() until truthy; errors while waiting count as not yet; TimeoutError naming `what`."""
    deadline = time.monotonic() + timeout
    last_error = ""
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as err:  # noqa: BLE001 - the service is in the middle of a fault
            last_error = f" (last error: {type(err).__name__}: {str(err)[:120]})"
        time.sleep(interval)
    raise TimeoutError(f"no {what} within {timeout:.0f}s{last_error}")
