"""Which containers `parity logs` reads: every container of every pod of the environment."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from parity import constants

# The values of --component, in the order the environment is described everywhere else.
LOG_COMPONENTS = (
    constants.COMPONENT_ETCD,
    constants.COMPONENT_POSTGRES,
    constants.COMPONENT_REDIS,
    constants.COMPONENT_SENTINEL,
    constants.COMPONENT_OBSERVABILITY,
)
# Sentinel pods carry component=redis (they belong to the Redis deployment) and name=sentinel.
_SENTINEL_APP = "sentinel"


@dataclass(frozen=True)
class LogSource:
    """One container of one pod. `restarts`: its restart count when the pod was listed."""

    component: str
    pod: str
    container: str
    restarts: int = 0
    running: bool = True

    @property
    def key(self) -> tuple[str, str]:
        return (self.pod, self.container)

    @property
    def label(self) -> str:
        """The prefix of its lines: component/pod/container."""
        return f"{self.component}/{self.pod}/{self.container}"


def component_of_pod(pod: dict[str, Any]) -> str:
    labels = (pod.get("metadata") or {}).get("labels") or {}
    if labels.get(constants.LABEL_NAME) == _SENTINEL_APP:
        return constants.COMPONENT_SENTINEL
    return str(labels.get(constants.LABEL_COMPONENT) or "unknown")


def _statuses(pod: dict[str, Any]) -> dict[str, dict[str, Any]]:
    status = pod.get("status") or {}
    return {s.get("name"): s for s in (status.get("containerStatuses") or []) + (status.get("initContainerStatuses")
                                                                                 or []) if isinstance(s, dict)}


def sources_of_pods(pods: Iterable[dict[str, Any]], components: Iterable[str] | None = None, *,
                    previous: bool = False) -> list[LogSource]:
    """The containers to read, sorted by component, pod and container. `components`: keep only
    these (None: all). `previous`: only containers that have a previous instance (restarted)."""
    wanted = set(components) if components is not None else None
    found = []
    for pod in pods:
        metadata = pod.get("metadata") or {}
        if metadata.get("deletionTimestamp") and not previous:
            continue
        component = component_of_pod(pod)
        if wanted is not None and component not in wanted:
            continue
        statuses = _statuses(pod)
        spec = pod.get("spec") or {}
        for container in spec.get("containers") or []:
            name = container.get("name")
            status = statuses.get(name, {})
            restarts = int(status.get("restartCount") or 0)
            if previous and restarts == 0 and not (status.get("lastState") or {}).get("terminated"):
                continue
            running = "running" in (status.get("state") or {})
            found.append(LogSource(component, str(metadata.get("name")), str(name), restarts, running))
    order = {c: i for i, c in enumerate(LOG_COMPONENTS)}
    return sorted(found, key=lambda s: (order.get(s.component, len(order)), s.pod, s.container))


def sources_to_follow(current: Iterable[LogSource], following: Iterable[tuple[str, str]]) -> list[LogSource]:
    """While following: the running containers that no stream reads now — new pods, and
    containers whose stream ended because they restarted (their new instance is read)."""
    busy = set(following)
    return [s for s in current if s.running and s.key not in busy]
