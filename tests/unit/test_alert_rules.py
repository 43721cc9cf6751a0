"""The shipped Prometheus alert rules pass `promtool check rules`, and `promtool test rules` proves
each alert both firing and staying quiet (tests/data/promtool/alerts_test.yaml).

Not skipped when promtool is missing: a missing promtool fails, so these checks cannot pass unseen.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from parity.api.models import EnvironmentSpec
from parity.render import build_children, dashboards

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "operator/parity/render/files/prometheus/alerts.yaml"
RULE_TESTS = REPO / "tests/data/promtool/alerts_test.yaml"
# Every alert the issue asks for; the rule file may grow, never lose one of these.
REQUIRED = {"PatroniNoLeader", "PatroniReplicationLagHigh", "RedisDown", "RedisNoMaster", "RedisRejectedConnections",
            "RedisMemoryNearMaxmemory", "SentinelQuorumLost", "EtcdNoLeader", "EtcdMemberDown",
            "EtcdHighFsyncLatency", "ParityCriticalDrift"}


@pytest.fixture(scope="module")
def promtool() -> str:
    path = shutil.which("promtool")
    if not path:
        pytest.fail("promtool is not installed (apt-get install prometheus; tools/setup-deps.sh installs it)")
    return path


def run(promtool: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([promtool, *args], capture_output=True, text=True, timeout=120, cwd=REPO)


def test_the_shipped_file_is_what_the_renderer_mounts():
    assert dashboards.alert_rules_text() == RULES.read_text()
    assert set(dashboards.alert_names()) >= REQUIRED
    assert len(dashboards.alert_names()) == len(set(dashboards.alert_names()))


def test_promtool_check_rules(promtool):
    result = run(promtool, "check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(dashboards.alert_names())} rules found" in result.stdout


def test_every_alert_has_a_firing_and_a_quiet_case():
    cases = yaml.safe_load(RULE_TESTS.read_text())
    assert (RULE_TESTS.parent / cases["rule_files"][0]).resolve() == RULES
    firing, quiet = set(), set()
    for case in cases["tests"]:
        for check in case["alert_rule_test"]:
            (firing if check["exp_alerts"] else quiet).add(check["alertname"])
    names = set(dashboards.alert_names())
    assert names - firing == set(), "alerts without a firing case"
    assert names - quiet == set(), "alerts without a quiet case"
    assert firing | quiet <= names, "cases for alerts the rule file does not have"


def test_promtool_test_rules(promtool):
    result = run(promtool, "test", "rules", str(RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_accepts_the_rendered_prometheus_config(promtool, tmp_path):
    """The whole rendered prometheus.yml (scrape jobs, the operator's metric filter, rule_files)
    as Prometheus itself parses it, with the rule file where the pod mounts it."""
    spec = EnvironmentSpec.model_validate({"observability": {"enabled": True}})
    [config_map] = [o for o in build_children("dev", "team-a", "uid-1", spec)
                    if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "dev-prometheus"]
    config = yaml.safe_load(config_map["data"]["prometheus.yml"])
    assert config["rule_files"] == ["/etc/prometheus/alerts.yaml"]
    (tmp_path / "alerts.yaml").write_text(config_map["data"]["alerts.yaml"])
    config["rule_files"] = [str(tmp_path / "alerts.yaml")]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    result = run(promtool, "check", "config", str(tmp_path / "prometheus.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(dashboards.alert_names())} rules found" in result.stdout
