"""Helpers shared by the integration tests and the benchmarks (not fixtures)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from parity.controlplane.cluster import free_port

REPO_ROOT = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def http_server(handler: type[BaseHTTPRequestHandler]):
    """A local HTTP server with `handler` standing in for an API endpoint; yields its base URL."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def wait_until(predicate, timeout: float = 60.0, interval: float = 0.25, what: str = "condition"):
    """Poll until predicate() returns something truthy; fail with the last value seen."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; last value: {last!r}")


class Operator:
    """`parity run` as a subprocess, restartable."""

    def __init__(self, plane, log_path: Path, env: dict[str, str] | None = None):
        self.plane = plane
        self.log_path = log_path
        self.extra_env = env or {}
        self.metrics_port = free_port()
        self.health_port = free_port()
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        env = {**os.environ, "KUBECONFIG": str(self.plane.kubeconfig), "PARITY_RUNTIME_PROBES": "off",
               "PARITY_METRICS_PORT": str(self.metrics_port), "PARITY_RESYNC_SECONDS": "30", **self.extra_env}
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "parity.cli.main", "run", "--liveness",
             f"http://127.0.0.1:{self.health_port}/healthz"],
            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO_ROOT)
        log.close()

    def wait_ready(self, timeout: float = 90.0) -> None:
        """Until kopf's liveness endpoint answers: start-up handlers done, watches running."""
        import urllib.request

        def healthy() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.health_port}/healthz", timeout=2) as resp:
                    return resp.status == 200
            except OSError:
                return False

        wait_until(healthy, timeout=timeout, interval=0.5, what="the operator's liveness endpoint")

    def stop(self, kill: bool = False) -> None:
        if self.proc and self.proc.poll() is None:
            (self.proc.kill if kill else self.proc.terminate)()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def log_tail(self, chars: int = 6000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]


def kget(plane, *args) -> dict:
    return json.loads(plane.kubectl("get", *args, "-o", "json").stdout)


def env_status(plane, namespace: str, name: str = "dev") -> dict:
    return kget(plane, "penv", name, "-n", namespace).get("status") or {}


def wait_env_phase(plane, namespace: str, phase: str = "Ready", name: str = "dev", timeout: float = 180) -> dict:
    """Until penv/`name` reports `phase`; on timeout the error carries the last status (phase,
    components, conditions) and the workloads and pods, so a miss says why. The limit is
    generous because the integration tier shares a 2-core machine with the control plane."""
    seen: dict = {}

    def reached():
        seen["status"] = env_status(plane, namespace, name)
        return seen["status"].get("phase") == phase and seen["status"]

    try:
        return wait_until(reached, timeout=timeout, what=f"penv/{name} phase {phase}")
    except AssertionError as err:
        last = seen.get("status") or {}
        brief = {"phase": last.get("phase"), "components": last.get("components"),
                 "conditions": [(c["type"], c["status"], c.get("reason"), c.get("message", "")[:200])
                                for c in last.get("conditions", [])]}
        objects = plane.kubectl("get", "sts,deploy,pods,pvc", "-n", namespace, "-o", "wide", check=False).stdout
        # Why a pod waits (scheduling, volume binding) is only in the events.
        events = plane.kubectl("get", "events", "-n", namespace, "--field-selector", "type=Warning",
                               check=False).stdout[-3000:]
        raise AssertionError(f"{err}\nlast status: {json.dumps(brief)[:3000]}\n{objects}\n{events}") from None
