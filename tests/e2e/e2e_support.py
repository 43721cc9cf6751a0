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


class ReplicationTimeline:
    """Samples every Redis member's replication state once a second in a thread (role, whom a
    replica follows, link, offset): when a roll loses writes, the failure shows which member was
    stopped while which replica was behind. Use as a context manager; `lines` holds the samples."""

    def __init__(self, hosts: list[str], password: str, interval: float = 1.0):
        import threading

        self.hosts, self.password, self.interval = hosts, password, interval
        self.lines: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ReplicationTimeline:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def member(self, host: str) -> str:
        import redis

        try:
            client = redis.Redis(host=host, port=6379, password=self.password, socket_timeout=1,
                                 socket_connect_timeout=1)
            try:
                info = client.info("replication")
            finally:
                client.close()
        except Exception as err:  # noqa: BLE001 - a member down is a sample too
            return f"{type(err).__name__}"
        if info["role"] == "master":
            replicas = [v for k, v in info.items() if k.startswith("slave") and isinstance(v, dict)]
            return f"primary offset={info['master_repl_offset']} replicas=" + ",".join(
                f"{r['ip'].split('.')[0]}:{r['state']}:{r['offset']}" for r in replicas)
        return (f"replica of {str(info['master_host']).split('.')[0]} link={info['master_link_status']} "
                f"offset={info.get('slave_repl_offset')}")

    def _run(self) -> None:
        import time

        while not self._stop.is_set():
            sample = " | ".join(f"{h.split('.')[0]}: {self.member(h)}" for h in self.hosts)
            self.lines.append(f"{time.strftime('%H:%M:%S')} {sample}")
            self._stop.wait(self.interval)
