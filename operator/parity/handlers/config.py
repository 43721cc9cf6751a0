"""Operator settings from the environment, read once at start-up."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from typing import Any

from parity import constants
from parity.probes.endpoints import load_endpoint_map
from parity.render.images import PUBLISHED, ImageCatalog, load_catalog


@dataclass(frozen=True)
class OperatorConfig:
    metrics_port: int = constants.DEFAULT_METRICS_PORT
    # How often the timer re-checks readiness and the runtime level.
    resync_seconds: float = 60.0
    # Runtime probes need network access to the services: on in a cluster, off for the local
    # control plane whose kwok pods run no processes ("auto" decides by where we run).
    runtime_probes: bool = False
    max_workers: int = 8
    # Event-driven syncs wait this long so a burst of child events becomes one sync.
    settle_seconds: float = 0.2
    # ...and start at least this long after the environment's last sync ended (triggers.wait_before).
    sync_spacing_seconds: float = 1.0
    # ...which doubles while the environment stays busy (a converging one), up to this.
    sync_spacing_max_seconds: float = 4.0
    # Default images for children whose spec names none: the published ones, or a catalogue
    # file (PARITY_IMAGE_CATALOG) such as the one `parity images build` writes for the real node.
    images: ImageCatalog = field(default=PUBLISHED)
    # Where the runtime probes reach an environment instead of its Services, for running the
    # operator outside the cluster: {"<namespace>/<name>": overrides}, from PARITY_ENDPOINTS or
    # PARITY_ENDPOINTS_FILE (`parity run --endpoints FILE`). Only the operator's own
    # configuration: nothing on a ParityEnvironment can redirect the probes or their password.
    endpoint_map: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Publish a wgpolicyk8s.io PolicyReport per environment when that CRD is served ("auto"), or never ("off").
    policy_reports: str = "auto"
    # A status with nothing new is still written when drift.checkedAt is this old (a heartbeat).
    status_heartbeat_seconds: float = 600.0
    # How long the answer "is that CRD served?" is trusted: installing it is noticed this late.
    policy_reports_recheck_seconds: float = 300.0
    # How often freed memory is handed back to the system (parity/memtrim.py); 0: never.
    malloc_trim_seconds: float = 30.0

    def __post_init__(self) -> None:
        if self.policy_reports not in ("auto", "off"):
            raise ValueError(f"PARITY_POLICY_REPORTS must be auto or off, not {self.policy_reports!r}")

    @classmethod
    def from_env(cls) -> "OperatorConfig":
        probes = os.environ.get("PARITY_RUNTIME_PROBES", "auto").lower()
        in_cluster = bool(os.environ.get("KUBERNETES_SERVICE_HOST"))
        return cls(
            metrics_port=int(os.environ.get("PARITY_METRICS_PORT", constants.DEFAULT_METRICS_PORT)),
            resync_seconds=float(os.environ.get("PARITY_RESYNC_SECONDS", 60)),
            runtime_probes=in_cluster if probes == "auto" else probes in ("1", "true", "on", "yes"),
            max_workers=int(os.environ.get("PARITY_MAX_WORKERS", 8)),
            settle_seconds=float(os.environ.get("PARITY_SETTLE_SECONDS", 0.2)),
            sync_spacing_seconds=float(os.environ.get("PARITY_SYNC_SPACING_SECONDS", 1.0)),
            sync_spacing_max_seconds=float(os.environ.get("PARITY_SYNC_SPACING_MAX_SECONDS", 4.0)),
            images=load_catalog(os.environ["PARITY_IMAGE_CATALOG"]) if os.environ.get("PARITY_IMAGE_CATALOG")
            else PUBLISHED,
            endpoint_map=load_endpoint_map(os.environ),
            policy_reports=os.environ.get("PARITY_POLICY_REPORTS", "auto").lower(),
            status_heartbeat_seconds=float(os.environ.get("PARITY_STATUS_HEARTBEAT_SECONDS", 600)),
            policy_reports_recheck_seconds=float(os.environ.get("PARITY_POLICY_REPORTS_RECHECK_SECONDS", 300)),
            malloc_trim_seconds=float(os.environ.get("PARITY_MALLOC_TRIM_SECONDS", 30)),
        )
