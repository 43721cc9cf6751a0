"""Operator settings from the environment, read once at start-up."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from parity import constants
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
    # Default images for children whose spec names none: the published ones, or a catalogue
    # file (PARITY_IMAGE_CATALOG) such as the one `parity images build` writes for the real node.
    images: ImageCatalog = field(default=PUBLISHED)

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
            images=load_catalog(os.environ["PARITY_IMAGE_CATALOG"]) if os.environ.get("PARITY_IMAGE_CATALOG")
            else PUBLISHED,
        )
