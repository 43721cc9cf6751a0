"""Helpers for the e2e tests (plain functions, imported by the test modules)."""

from __future__ import annotations

import base64
import json

from support import REPO_ROOT, wait_until

LOCAL_SAMPLE = REPO_ROOT / "manifests" / "overlays" / "local"


def kjson(plane, *args) -> dict:
    return json.loads(plane.kubectl(*args, "-o", "json").stdout)


def redis_password(plane, namespace: str, env: str = "dev") -> str:
    """The password every Redis and Sentinel of the environment requires (its credentials Secret)."""
    data = kjson(plane, "get", "secret", f"{env}-postgres-credentials", "-n", namespace)["data"]
    return base64.b64decode(data["redis-password"]).decode()


def apply_local_sample(plane, namespace: str, timeout: float = 600) -> dict:
    """The local sample (manifests/samples/local) in `namespace`, waited for until Ready."""
    plane.kubectl("apply", "-n", namespace, "-k", str(LOCAL_SAMPLE))

    def ready():
        body = kjson(plane, "get", "penv", "dev", "-n", namespace)
        return body if (body.get("status") or {}).get("phase") == "Ready" else None

    return wait_until(ready, timeout=timeout, interval=3, what=f"penv/dev in {namespace} to be Ready")
