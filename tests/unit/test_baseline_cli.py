"""`parity baseline capture --from-spec` and `parity baseline diff`: output, exit codes, and bad
input as one line naming the file and field (exit 1, no traceback)."""

from __future__ import annotations

import json

import pytest
import yaml
from support import REPO_ROOT

from parity.cli.main import main

STAGING = str(REPO_ROOT / "baselines" / "staging.yaml")
PRODUCTION = str(REPO_ROOT / "baselines" / "production.yaml")
SAMPLE = str(REPO_ROOT / "manifests" / "samples" / "dev.yaml")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_capture_from_spec_prints_a_baseline_the_environment_diffs_clean_against(capsys, tmp_path):
    code, out, err = run(capsys, "baseline", "capture", "--from-spec", SAMPLE, "--as", "dev-reference",
                         "--rules-from", STAGING)
    assert (code, err) == (0, "")
    manifest = yaml.safe_load(out)
    assert manifest["kind"] == "ParityBaseline" and manifest["metadata"]["name"] == "dev-reference"
    assert manifest["spec"]["rules"] == yaml.safe_load(open(STAGING))["spec"]["rules"]
    captured = tmp_path / "dev-reference.yaml"
    captured.write_text(out)
    code, out, err = run(capsys, "diff", SAMPLE, "--baseline", str(captured), "-o", "json")
    assert code == 0
    assert json.loads(out)["items"] == []


def test_baseline_diff_rates_changes_by_the_new_baselines_rules(capsys):
    code, out, err = run(capsys, "baseline", "diff", STAGING, PRODUCTION, "-o", "json")
    assert code == 2  # production makes synchronousMode critical, and staging has it off
    report = json.loads(out)
    assert report["baseline"] == "production"
    by_path = {item["path"]: item for item in report["items"]}
    sync = by_path["postgres.patroni.synchronousMode"]
    assert (sync["severity"], sync["local"], sync["baseline"]) == ("critical", False, True)
    assert by_path["postgres.replicas"]["change"] == "modified"
    assert "parity: note: rule postgres.patroni.synchronousMode: severity warning → critical" in err.splitlines()
    code, out, _ = run(capsys, "baseline", "diff", STAGING, PRODUCTION, "--fail-on", "critical", "-o", "table")
    assert code == 2 and "postgres.patroni.synchronousMode" in out


def test_the_same_baseline_twice_is_no_change(capsys):
    code, out, err = run(capsys, "baseline", "diff", STAGING, STAGING, "-o", "json")
    assert (code, err) == (0, "")
    assert json.loads(out)["items"] == []


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["baseline", "diff", "missing.yaml", STAGING], "parity: missing.yaml: no such file"),
        (["baseline", "diff", STAGING, SAMPLE], f"kind: is 'ParityEnvironment'; expected ParityBaseline"),
        (["baseline", "diff", STAGING, STAGING, "-o", "pdf"], "--output: 'pdf' is not one of"),
        (["baseline", "capture", "--from-spec", STAGING, "--as", "x"], "kind: is 'ParityBaseline'"),
        (["baseline", "capture", "--from-spec", SAMPLE, "--as", "Not_A_Name"], "--as: 'Not_A_Name' is not a valid"),
        (["baseline", "capture", "--from-spec", SAMPLE, "--as", "x", "--rules-from", SAMPLE], "expected ParityBaseline"),
        (["baseline", "capture", "--as", "x"], "give -n NAMESPACE NAME (a running environment) or --from-spec"),
    ],
)
def test_bad_input_is_one_line_and_exit_1(capsys, argv, expected):
    code, out, err = run(capsys, *argv)
    assert code == 1
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], err
    assert "Traceback" not in err


def test_malformed_yaml_names_the_file_and_line(capsys, tmp_path):
    bad = tmp_path / "broken.yaml"
    bad.write_text("apiVersion: parity.dev/v1alpha1\nkind: ParityBaseline\nspec: [\n")
    code, _, err = run(capsys, "baseline", "diff", str(bad), STAGING)
    assert code == 1 and err.startswith(f"parity: {bad}: line ") and len(err.strip().splitlines()) == 1
    field = tmp_path / "field.yaml"
    field.write_text("apiVersion: parity.dev/v1alpha1\nkind: ParityBaseline\nmetadata: {name: x}\n"
                     "spec: {defaultSeverity: loud}\n")
    code, _, err = run(capsys, "baseline", "diff", STAGING, str(field))
    assert code == 1 and "spec.defaultSeverity" in err and len(err.strip().splitlines()) == 1


class MissingEverything:
    host = "https://fake:6443"

    def get(self, path):
        return None

    def close(self):
        pass


def test_capturing_an_unknown_environment_names_it(capsys, monkeypatch):
    from parity.kube import client

    monkeypatch.setattr(client.Kube, "connect", classmethod(lambda cls, context=None: MissingEverything()))
    code, out, err = run(capsys, "baseline", "capture", "-n", "team-a", "nope", "--as", "staging")
    assert (code, out) == (1, "")
    assert err.strip() == ("parity: ParityEnvironment team-a/nope not found (kubectl get penv -n team-a)")
