"""The local images, for real: built (cached), imported into a private containerd, and run.

Needs root, the node binaries (`~/.cache/parity/node/*/bin/`: containerd, ctr, runc,
containerd-shim-runc-v2, built by `tools/controlplane/build.sh node`) and the static etcd
(`tools/controlplane/build.sh etcd-image`). A missing tool FAILS these tests: never a skip.

The containerd here is private: its own root, state, socket and config under a temp dir, the
CRI and NRI plugins off, so it shares nothing with the node's containerd.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from parity.images import build, containerd, recipes

pytestmark = pytest.mark.e2e

NODE_TOOLS = ("containerd", "ctr", "runc", "containerd-shim-runc-v2")
NAMESPACE = "k8s.io"


def _node_bin_dir() -> Path:
    for candidate in sorted(glob.glob(str(build.parity_cache() / "node" / "*" / "bin")), reverse=True):
        if all((Path(candidate) / tool).is_file() for tool in NODE_TOOLS):
            return Path(candidate)
    pytest.fail(f"no node bin dir with {', '.join(NODE_TOOLS)} under {build.parity_cache() / 'node'}: "
                "build it with `bash tools/controlplane/build.sh node`")


@pytest.fixture(scope="module")
def built_images() -> dict[str, build.BuiltImage]:
    assert os.geteuid() == 0, "building images needs root (debootstrap, chroot, mount)"
    for tool in ("debootstrap", "umoci", "skopeo", "catatonit"):
        assert shutil.which(tool), f"{tool} is not installed"
    # Cached after the first run: this only checks keys unless a recipe or input changed.
    return {image.name: image for image in build.build_all(list(recipes.RECIPES), progress=print)}


@pytest.fixture(scope="module")
def private_containerd():
    bin_dir = _node_bin_dir()
    # Short path: a unix socket path must stay under 108 bytes.
    base = Path(tempfile.mkdtemp(prefix="pimg-", dir="/tmp"))
    socket = base / "containerd.sock"
    config = base / "config.toml"
    config.write_text(f"""version = 3
root = "{base}/root"
state = "{base}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.cri.v1.runtime", "io.containerd.cri.v1.images",
                    "io.containerd.nri.v1.nri", "io.containerd.internal.v1.opt"]
[grpc]
  address = "{socket}"
[ttrpc]
  address = "{socket}.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
""")
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}"}
    log = open(base / "containerd.log", "w")
    proc = subprocess.Popen([str(bin_dir / "containerd"), "--config", str(config)], stdout=log, stderr=log,
                            env=env, stdin=subprocess.DEVNULL)
    ctr = str(bin_dir / "ctr")
    try:
        for _ in range(100):  # bounded wait for the socket to answer, not a timing assertion
            if proc.poll() is not None:
                break
            if socket.exists() and subprocess.run([ctr, "--address", str(socket), "version"],
                                                  capture_output=True).returncode == 0:
                break
            time.sleep(0.2)
        assert proc.poll() is None, f"containerd exited: {(base / 'containerd.log').read_text()[-3000:]}"
        yield {"ctr": ctr, "address": str(socket), "env": env, "log": base / "containerd.log"}
    finally:
        for task in _ctr_lines(ctr, str(socket), "tasks", "ls", "-q"):
            subprocess.run([ctr, "--address", str(socket), "-n", NAMESPACE, "tasks", "kill", "-s", "SIGKILL", task],
                           capture_output=True)
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        # Overlay snapshots may still be mounted if containerd died mid-way: unmount before removing.
        with open("/proc/self/mounts") as mounts:
            for line in reversed(mounts.read().splitlines()):
                target = line.split()[1]
                if target.startswith(str(base) + "/"):
                    subprocess.run(["umount", "-l", target], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def _ctr_lines(ctr: str, address: str, *args: str) -> list[str]:
    out = subprocess.run([ctr, "--address", address, "-n", NAMESPACE, *args], capture_output=True, text=True)
    return out.stdout.split() if out.returncode == 0 else []


@pytest.fixture(scope="module")
def imported(built_images, private_containerd):
    c = private_containerd
    steps = containerd.import_images(c["ctr"], c["address"], built_images.values(), namespace=NAMESPACE)
    return steps


def _run(c: dict, image: str, name: str, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess:
    # No --memory-limit / oom options: raising oom_score_adj needs CAP_SYS_RESOURCE, which this
    # machine's bounding set lacks (runc then fails with "can't get final child's PID").
    return subprocess.run([c["ctr"], "--address", c["address"], "-n", NAMESPACE, "run", "--rm", image, name, *argv],
                          capture_output=True, text=True, env=c["env"], timeout=timeout, stdin=subprocess.DEVNULL)


def test_import_then_second_import_changes_nothing(built_images, private_containerd, imported):
    c = private_containerd
    assert {s.reference for s in imported} == {i.reference for i in built_images.values()}
    listed = containerd.list_images(c["ctr"], c["address"], NAMESPACE)
    for image in built_images.values():
        assert listed[image.reference] == image.digest
    again = containerd.import_images(c["ctr"], c["address"], built_images.values(), namespace=NAMESPACE)
    assert [s.action for s in again] == ["present"] * len(built_images)


@pytest.mark.parametrize("name", [r.name for r in recipes.RECIPES if r.smoke])
def test_each_image_runs_its_programs(name, built_images, private_containerd, imported):
    r = recipes.recipe(name)
    for i, (argv, expect) in enumerate(zip(r.smoke, r.smoke_expect)):
        result = _run(private_containerd, r.reference, f"smoke-{name}-{i}", *argv)
        output = result.stdout + result.stderr
        assert result.returncode == 0, f"{argv}: exit {result.returncode}: {output[-2000:]}"
        assert expect in output, f"{argv}: {expect!r} not in {output[-2000:]!r}"


def test_images_run_as_their_numeric_users(private_containerd, imported):
    for name in ("postgres-patroni", "prometheus", "etcd", "redis"):
        r = recipes.recipe(name)
        result = _run(private_containerd, r.reference, f"uid-{name}", "/bin/sh", "-c", "id -u; id -g")
        assert result.returncode == 0, result.stderr
        assert result.stdout.split()[0] == str(r.user)
    pg = recipes.recipe("postgres-patroni")
    result = _run(private_containerd, pg.reference, "pg-paths", "/bin/sh", "-c",
                  "id -gn; for c in postgres psql patroni patronictl python3; do command -v $c; done; "
                  f"{recipes.PATRONI_PYTHON} -c 'import psycopg, etcd; print(psycopg.__version__)'; "
                  f"test -w {recipes.POSTGRES_HOME} && echo home-writable")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.split()
    assert lines[0] == "postgres"
    assert f"{recipes.POSTGRES_BIN_DIR}/postgres" in lines and f"{recipes.POSTGRES_BIN_DIR}/psql" in lines
    assert f"{recipes.PATRONI_VENV}/bin/patroni" in lines and f"{recipes.PATRONI_VENV}/bin/patronictl" in lines
    assert "home-writable" in lines


def test_postgres_image_initialises_starts_and_answers_psql(private_containerd, imported):
    pg = recipes.recipe("postgres-patroni")
    script = (
        "initdb -D /tmp/pgtest --locale=en_US.UTF-8 -E UTF8 >/dev/null && "
        "pg_ctl -D /tmp/pgtest -o '-k /tmp -c listen_addresses=' -w start >/dev/null && "
        "psql -h /tmp -d postgres -Atc \"select datcollate from pg_database where datname = 'postgres'\" && "
        "pg_ctl -D /tmp/pgtest -m fast -w stop >/dev/null"
    )
    result = _run(private_containerd, pg.reference, "pg-initdb", "/bin/sh", "-c", script)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.split()[-1] == "en_US.UTF-8"


def test_prometheus_starts_with_the_rendered_args(private_containerd, imported):
    from parity.api.models import EnvironmentSpec
    from parity.render import observability
    from parity.render.common import Owner

    spec = EnvironmentSpec.model_validate({"observability": {"prometheus": {"enabled": True}}})
    deployment = [o for o in observability.build_prometheus(Owner("e", "ns", "u"), spec) if o["kind"] == "Deployment"]
    args = deployment[0]["spec"]["template"]["spec"]["containers"][0]["args"]
    r = recipes.recipe("prometheus")
    # Debian's example config stands in for the rendered ConfigMap; the TSDB path is the image's.
    run = " ".join([*r.entrypoint, *args])
    result = _run(private_containerd, r.reference, "prom-start", "/bin/sh", "-c", f"timeout 15 {run} 2>&1; true")
    assert "Server is ready to receive web requests" in result.stdout, result.stdout[-3000:] + result.stderr


def test_redis_image_has_every_command_the_rendered_scripts_call(private_containerd, imported):
    r = recipes.recipe("redis")
    result = _run(private_containerd, r.reference, "redis-cmds", "/bin/sh", "-c",
                  "for c in " + " ".join(r.requires) + "; do command -v $c || echo MISSING $c; done")
    assert result.returncode == 0 and "MISSING" not in result.stdout, result.stdout + result.stderr


def test_pause_image_runs_until_sigterm(private_containerd, imported):
    c = private_containerd
    ref = recipes.recipe("pause").reference
    base = [c["ctr"], "--address", c["address"], "-n", NAMESPACE]
    proc = subprocess.Popen([*base, "run", "--rm", ref, "pause-sigterm"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=c["env"], stdin=subprocess.DEVNULL)
    try:
        for _ in range(100):  # bounded wait until the task runs
            listed = subprocess.run([*base, "tasks", "ls"], capture_output=True, text=True).stdout
            if "pause-sigterm" in listed and "RUNNING" in listed:
                break
            assert proc.poll() is None, f"pause exited by itself: {proc.stdout.read() if proc.stdout else ''}"
            time.sleep(0.2)
        assert proc.poll() is None, "pause is not running"
        subprocess.run([*base, "tasks", "kill", "-s", "SIGTERM", "pause-sigterm"], check=True, capture_output=True)
        proc.wait(timeout=60)
        assert proc.returncode == 0, proc.stdout.read() if proc.stdout else ""
    finally:
        if proc.poll() is None:
            subprocess.run([*base, "tasks", "kill", "-s", "SIGKILL", "pause-sigterm"], capture_output=True)
            proc.wait(timeout=30)


def test_images_of_one_suite_share_the_base_layer(built_images):
    def layers(image: build.BuiltImage) -> list[str]:
        out = subprocess.run(["skopeo", "inspect", f"oci-archive:{image.archive}"], capture_output=True, text=True,
                             check=True).stdout
        return json.loads(out)["Layers"]

    trixie = [built_images[r.name] for r in recipes.RECIPES if r.suite == "trixie"]
    firsts = {layers(image)[0] for image in trixie}
    assert len(trixie) >= 2 and len(firsts) == 1
    assert all(len(layers(image)) == 2 for image in trixie)
