"""The project's Tiltfile under real Tilt (built from ../shared/third_party or taken from PATH by
tools/tilt/build.sh), against a private control plane of this module (kwok node, free ports).

Tilt runs in a temp copy of the repository whose .venv/bin/{parity,python} run the copy's
operator/parity (so an edit there is the operator's code, and this tree is never touched), with
its own HOME (Tilt's state), its own API port, and settings naming free operator ports.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from support import REPO_ROOT, wait_until

from parity.controlplane import ControlPlane, find_binaries
from parity.controlplane.cluster import free_port

SAMPLE = "dev"
NS = "default"
CRDS = ["parityenvironments.parity.dev", "paritybaselines.parity.dev"]


@pytest.fixture(scope="module")
def tilt_bin() -> str:
    """Builds Tilt once (cached by version) or reuses it; a failed build fails the tests."""
    proc = subprocess.run(["bash", str(REPO_ROOT / "tools/tilt/build.sh")], capture_output=True, text=True,
                          timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def plane(tmp_path_factory):
    """A control plane of this module only: `tilt down` and the sample `dev` touch no other test."""
    cp = ControlPlane(tmp_path_factory.mktemp("tilt-plane"), bin_dir=find_binaries())
    cp.start(timeout=180)
    try:
        yield cp
    finally:
        cp.stop(remove_state=False)


@pytest.fixture(scope="module")
def repo_copy(tmp_path_factory) -> Path:
    """The tracked and new files of this tree (not .venv, .parity or ignored files)."""
    dest = tmp_path_factory.mktemp("tilt-repo")
    files = subprocess.run(["git", "-C", str(REPO_ROOT), "ls-files", "-co", "--exclude-standard", "-z"],
                           capture_output=True, check=True).stdout.decode().split("\0")
    for rel in filter(None, files):
        src = REPO_ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    bin_dir = dest / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    pythonpath = f'PYTHONPATH="{dest / "operator"}${{PYTHONPATH:+:$PYTHONPATH}}"'
    for name, command in [("parity", f'{sys.executable} -m parity.cli.main "$@"'),
                          ("python", f'{sys.executable} "$@"')]:
        (bin_dir / name).write_text(f"#!/bin/sh\n{pythonpath} exec {command}\n")
        (bin_dir / name).chmod(0o755)
    return dest


class Tilt:
    """Runs tilt in the repository copy against the plane, with ports of its own."""

    def __init__(self, binary: str, repo: Path, plane, home: Path):
        self.binary, self.repo, self.plane = binary, repo, plane
        self.metrics_port, self.health_port, self.api_port = free_port(), free_port(), free_port()
        settings = home / "tilt-settings.yaml"
        settings.write_text(f"operator_metrics_port: {self.metrics_port}\n"
                            f"operator_health_port: {self.health_port}\nready_timeout: 120s\n")
        self.env = {**os.environ, **plane.env(), "HOME": str(home), "PARITY_TILT_SETTINGS": str(settings),
                    "PARITY_TEARDOWN_GRACE": "5"}
        self.env.pop("TILT_PORT", None)

    def run(self, *args: str, timeout: float = 240) -> subprocess.CompletedProcess:
        return subprocess.run([self.binary, *args], cwd=self.repo, env=self.env, capture_output=True,
                              text=True, timeout=timeout)

    def ci(self) -> subprocess.CompletedProcess:
        return self.run("ci", "--port", str(self.api_port), "--timeout", "3m")

    def down(self) -> subprocess.CompletedProcess:
        return self.run("down", timeout=180)

    def health(self) -> dict | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.health_port}/healthz", timeout=2) as resp:
                return json.loads(resp.read()).get("instance")
        except (OSError, ValueError):
            return None


@pytest.fixture
def tilt(tilt_bin, repo_copy, plane, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    t = Tilt(tilt_bin, repo_copy, plane, home)
    yield t
    t.down()  # whatever a failed test left behind


def _env(plane) -> dict | None:
    proc = plane.kubectl("-n", NS, "get", "parityenvironment", SAMPLE, "-o", "json", check=False)
    return json.loads(proc.stdout) if proc.returncode == 0 else None


def _assert_torn_down(plane, down: subprocess.CompletedProcess) -> None:
    """No ParityEnvironment left (none stuck on its finalizer) and the CRDs kept, not terminating."""
    assert down.returncode == 0, down.stdout[-2000:] + down.stderr[-2000:]
    left = json.loads(plane.kubectl("get", "parityenvironments", "-A", "-o", "json").stdout)["items"]
    assert left == [], [(o["metadata"]["name"], o["metadata"].get("finalizers")) for o in left]
    for crd in CRDS:
        obj = json.loads(plane.kubectl("get", "crd", crd, "-o", "json").stdout)
        assert "deletionTimestamp" not in obj["metadata"], crd


class _Impostor:
    """Another process answering 200 on the operator's liveness port, as `make up`'s does."""

    def __init__(self, port: int):
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.httpd = HTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_tilt_ci_fails_when_the_operator_port_is_taken(tilt):
    impostor = _Impostor(tilt.health_port)
    try:
        result = tilt.ci()
    finally:
        impostor.close()
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    assert f"port {tilt.health_port} (liveness (--liveness)) already in use by another process" in output, \
        output[-3000:]
    assert _env(tilt.plane) is None or _env(tilt.plane)["status"].get("phase") != "Ready"


def test_tilt_ci_passes_only_with_the_sample_ready_and_down_leaves_nothing_stuck(tilt):
    result = tilt.ci()
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    env = _env(tilt.plane)
    assert env is not None and env["status"]["phase"] == "Ready"
    assert "parity.dev/finalizer" in env["metadata"]["finalizers"]
    # sample-dev-ready showed the environment and its drift summary (parity diff's last line).
    assert 'findings against baseline "production"' in output, output[-4000:]

    # `tilt ci` has exited: no operator runs any more. Teardown removes the finalizer itself.
    down = tilt.down()
    _assert_torn_down(tilt.plane, down)
    assert "removing it" in down.stdout + down.stderr


def test_tilt_up_restarts_the_operator_on_an_edit_and_it_reconciles(tilt, tmp_path):
    log = open(tmp_path / "tilt-up.log", "wb")
    up = subprocess.Popen([tilt.binary, "up", "--stream", "--port", str(tilt.api_port)], cwd=tilt.repo,
                          env=tilt.env, stdout=log, stderr=subprocess.STDOUT)
    edited = tilt.repo / "operator/parity/instance.py"
    original = edited.read_text()
    try:
        def ready():
            env = _env(tilt.plane)
            return env and env.get("status", {}).get("phase") == "Ready" and tilt.health()
        first = wait_until(ready, timeout=180, interval=1, what="sample Ready under tilt up")
        first_pid = first["pid"]

        # An edit under operator/parity: the liveness endpoint reports it once the new code runs.
        edited.write_text(original + "\n\n_identity = identity\n\n\ndef identity(environ=os.environ, pid=None):\n"
                          "    return {**_identity(environ, pid), 'edited': True}\n")
        restarted = wait_until(lambda: (h := tilt.health()) and h.get("edited") and h,
                               timeout=120, interval=0.5, what="the operator restarted with the edit")
        assert restarted["pid"] != first_pid

        # The restarted operator reconciles: a spec change reaches status.observedGeneration.
        tilt.plane.kubectl("-n", NS, "patch", "parityenvironment", SAMPLE, "--type=merge",
                           "-p", '{"spec":{"postgres":{"parameters":{"work_mem":"8MB"}}}}')

        def reconciled():
            env = _env(tilt.plane)
            return env["status"].get("observedGeneration") == env["metadata"]["generation"]
        wait_until(reconciled, timeout=90, interval=0.5, what="the edited operator reconciling the new spec")

        # `tilt down` while the operator runs: it removes its own finalizer.
        down = tilt.down()
        _assert_torn_down(tilt.plane, down)
        assert "deleted by its operator" in down.stdout + down.stderr
    finally:
        edited.write_text(original)
        up.terminate()
        try:
            up.wait(timeout=30)
        except subprocess.TimeoutExpired:
            up.kill()
            up.wait()
        log.close()
