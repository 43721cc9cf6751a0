"""`parity diff -n NS NAME --baseline FILE` (what `make diff-staging` runs): the operator's verdict
when FILE is the environment's own baseline, else its live spec against FILE (declared level)."""

import json

import pytest
import yaml

from parity.cli import diff as diff_cli
from parity.cli.main import main
from parity.drift.engine import DriftReport, Finding
from support import REPO_ROOT


def live_object(version="16") -> dict:
    env = yaml.safe_load((REPO_ROOT / "manifests/samples/dev.yaml").read_text())
    env["spec"]["postgres"]["version"] = version
    report = DriftReport.from_findings("production", [Finding(
        path="live.StatefulSet.spec.replicas", component="etcd", level="live", change="modified", local=5, baseline=3,
        severity="warning", remediation="scale back", kind="StatefulSet", name="dev-etcd")])
    drift = {**report.to_status(), "observedGeneration": 1}
    env["metadata"].update(generation=1, namespace="team")
    env["status"] = {"observedGeneration": 1, "drift": drift}
    return env


@pytest.fixture
def live(monkeypatch):
    state = {"obj": live_object()}
    monkeypatch.setattr(diff_cli, "read_live_environment", lambda namespace, name, context=None: state["obj"])
    monkeypatch.setattr(diff_cli, "_live_baseline_rules", lambda name, context: None)
    return state


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_its_own_baseline_gives_the_operators_verdict(live, capsys):
    code, out, err = run(capsys, "diff", "-n", "team", "dev", "-b", str(REPO_ROOT / "baselines/production.yaml"),
                         "-o", "json")
    assert code == 0, err
    report = json.loads(out)
    assert [i["path"] for i in report["items"]] == ["live.StatefulSet.spec.replicas"]  # from status
    assert "note" not in err


def test_another_baseline_compares_the_live_spec(live, capsys):
    live["obj"] = live_object(version="15")
    code, out, err = run(capsys, "diff", "-n", "team", "dev", "-b", str(REPO_ROOT / "baselines/staging.yaml"),
                         "-o", "json")
    report = json.loads(out)
    assert report["baseline"] == "staging"
    assert report["levels"]["declared"]["state"] == "ran" and report["levels"]["live"]["state"] == "skipped"
    assert any(i["path"] == "postgres.version" and i["severity"] == "critical" for i in report["items"])
    assert code == 2
    assert "follows baseline 'production', not 'staging'" in err and "declared level only" in err


def test_an_invalid_live_spec_is_one_line(live, capsys):
    live["obj"]["spec"]["etcd"]["replicas"] = 2
    code, out, err = run(capsys, "diff", "-n", "team", "dev", "-b", str(REPO_ROOT / "baselines/staging.yaml"))
    assert code == 1 and out == ""
    assert err.startswith("parity: ParityEnvironment team/dev") and "replicas" in err and "Traceback" not in err
