"""The interface between runtime probes and the drift engine's runtime level."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ProbeResult:
    """What one probe learned about one component.

    `values` maps spec paths (the same dotted paths the declared level uses, for example
    `postgres.parameters.max_connections`, `redis.config.maxmemory`, `etcd.replicas`,
    `postgres.version`) to the effective value the running service reports, already
    normalised (units and booleans by meaning). The drift engine compares them with the
    spec and the baseline. `details` carries what `parity inspect` shows (leader, members,
    lag, ...) and is never compared. `error` is set, with `endpoint`, when the target could
    not be read; `values` is then empty and the engine turns the error into a finding.
    Secret material (passwords) never goes into any field.
    """

    component: str
    endpoint: str
    values: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    # Settings the service has accepted but not applied yet (PostgreSQL pending_restart).
    pending_restart: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.error is None
