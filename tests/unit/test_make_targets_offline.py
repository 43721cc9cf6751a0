"""The day-to-day make targets that need no cluster (ENV=file.yaml), run through make itself,
and `make help`. The targets that read a cluster: tests/integration/test_make_targets.py."""

import json
import shutil
import subprocess
import sys

import pytest
import yaml

from support import REPO_ROOT

# The CLI of this interpreter (no dependency on .venv/bin/parity existing).
PARITY = f"PARITY={sys.executable} -m parity.cli.main"
TARGETS = ("diff-staging", "diff-production", "validate-parity", "inspect-cluster", "inspect-etcd", "inspect-patroni",
           "inspect-redis", "aggregate-logs", "observability-up", "observability-down")


def make(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    if shutil.which("make") is None:
        pytest.fail("make is not installed")
    return subprocess.run(["make", "--no-print-directory", "-C", str(REPO_ROOT), PARITY, *args], capture_output=True,
                          text=True, timeout=120, env=env)


@pytest.fixture
def critical_env(tmp_path):
    """The sample on PostgreSQL 15 where production runs 16: a critical finding."""
    env = yaml.safe_load((REPO_ROOT / "manifests/samples/dev.yaml").read_text())
    env["spec"]["postgres"]["version"] = "15"
    path = tmp_path / "dev-pg15.yaml"
    path.write_text(yaml.safe_dump(env))
    return str(path)


def test_help_lists_every_target():
    proc = make("help")
    assert proc.returncode == 0, proc.stderr
    listed = {line.split()[1] for line in proc.stdout.splitlines() if line.startswith("make ")}
    missing = [t for t in TARGETS if t not in listed and t not in proc.stdout]
    assert not missing, proc.stdout
    for target in ("diff-staging", "diff-production", "validate-parity", "inspect-cluster", "inspect-etcd",
                   "aggregate-logs", "observability-up"):
        assert target in listed, target


def test_diff_staging_and_production_with_a_file():
    sample = "manifests/samples/dev.yaml"
    proc = make("diff-staging", f"ENV={sample}")
    assert proc.returncode == 0, proc.stderr
    assert 'against baseline "staging"' in proc.stdout
    proc = make("diff-production", f"ENV={sample}", "OUTPUT=json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["baseline"] == "production"


def test_diff_shows_critical_drift_without_failing(critical_env):
    proc = make("diff-production", f"ENV={critical_env}", "OUTPUT=markdown")
    assert proc.returncode == 0, proc.stderr  # showing drift is the answer; validate-parity is the gate
    assert "| 🔴 critical | postgres | declared | postgres.version | 15 | 16 |" in proc.stdout


def test_validate_parity_exits_two_on_critical_drift(critical_env):
    proc = make("validate-parity", f"ENV={critical_env}")
    assert proc.returncode == 2, proc.stderr
    assert "postgres.version" in proc.stdout and "critical" in proc.stdout
    assert "Error 2" in proc.stderr  # parity's own exit code, as make reports it
    proc = make("validate-parity", "ENV=manifests/samples/dev.yaml", "OUTPUT=sarif")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["version"] == "2.1.0"


def test_validate_parity_bad_file_is_one_line(tmp_path):
    proc = make("validate-parity", f"ENV={tmp_path / 'missing.yaml'}")
    assert proc.returncode != 0 and "Error 1" in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("parity:")]
    assert len(errors) == 1 and "missing.yaml" in errors[0], proc.stderr


def test_env_from_the_shell_environment_is_not_taken_for_a_file(tmp_path):
    """`ENV` is exported by many shells (the sh startup file); only ENV= on make's command line counts."""
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n"
                          "users: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n"
                          "current-context: x\n")
    env = {"PATH": "/usr/bin:/bin", "ENV": str(REPO_ROOT / "manifests/samples/dev.yaml"), "KUBECONFIG": str(kubeconfig)}
    proc = make("diff-staging", env=env)
    # It went to the cluster (-n default dev), which does not answer here: exit 1 naming the endpoint.
    assert proc.returncode != 0 and "https://127.0.0.1:1" in proc.stderr, proc.stderr
