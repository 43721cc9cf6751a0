"""Helpers for the e2e tests (plain functions, imported by the test modules)."""

from __future__ import annotations

import json

from support import REPO_ROOT, wait_until

LOCAL_SAMPLE = REPO_ROOT / "manifests" / "overlays" / "local"


def kjson(plane, *args) -> dict:
    return json.loads(plane.kubectl(*args, "-o", "json").stdout)


def apply_local_sample(plane, namespace: str, timeout: float = 600) -> dict:
    """The local sample (manifests/samples/local) in `namespace`, waited for until Ready."""
    plane.kubectl("apply", "-n", namespace, "-k", str(LOCAL_SAMPLE))

    def ready():
        body = kjson(plane, "get", "penv", "dev", "-n", namespace)
        return body if (body.get("status") or {}).get("phase") == "Ready" else None

    return wait_until(ready, timeout=timeout, interval=3, what=f"penv/dev in {namespace} to be Ready")
