"""`parity validate` offline: it refuses every malformed spec the API server refuses, and reads
files safely (stdin, duplicate keys, size cap, deep nesting) with an error naming the file."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from parity import constants as c
from parity.cli import yamlfile
from parity.cli.main import main

REPO = Path(__file__).resolve().parents[2]
MALFORMED = yaml.safe_load((REPO / "tests" / "data" / "malformed-specs.yaml").read_text())


def manifest(case: dict) -> dict:
    kind = c.ENVIRONMENT_KIND if case["kind"] == "environment" else c.BASELINE_KIND
    return {"apiVersion": c.API_VERSION, "kind": kind,
            "metadata": {"name": case.get("name", f"bad-{case['id']}")}, "spec": case["spec"]}


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("case", MALFORMED, ids=[case["id"] for case in MALFORMED])
def test_validate_refuses_each_malformed_spec_naming_file_and_field(case, tmp_path, capsys):
    path = tmp_path / f"{case['id']}.yaml"
    # JSON is YAML: control characters in the cases survive the round trip exactly.
    path.write_text(json.dumps(manifest(case)))
    code, out, err = run(capsys, "validate", str(path))
    assert code == 1, out
    assert f"{path}: {case['field']}" in err, err
    assert case.get("message", "") in err, err
    assert "Traceback" not in err


def test_validate_reads_stdin(capsys, monkeypatch):
    text = yaml.safe_dump(manifest({"kind": "environment", "id": "x", "name": "dev", "spec": {}}))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    code, out, err = run(capsys, "validate", "-")
    assert code == 0, err
    assert out == "<stdin>: valid ParityEnvironment 'dev'\n"


def test_validate_stdin_with_a_baseline_reads_stdin_once(capsys, monkeypatch, tmp_path):
    env = manifest({"kind": "environment", "id": "x", "name": "dev", "spec": {"baselineRef": {"name": "prod"}}})
    baseline = tmp_path / "prod.yaml"
    baseline.write_text(yaml.safe_dump(manifest({"kind": "baseline", "id": "x", "name": "prod", "spec": {}})))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(yaml.safe_dump(env).encode())))
    code, _, err = run(capsys, "validate", "-", "--baseline", str(baseline))
    assert code == 0, err


def test_stdin_error_names_stdin(capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"kind: [")))
    code, _, err = run(capsys, "validate", "-")
    assert code == 1 and err.startswith("parity: <stdin>: line 1"), err


def test_duplicate_keys_are_refused_naming_both_lines(tmp_path, capsys):
    path = tmp_path / "dup.yaml"
    path.write_text("apiVersion: parity.dev/v1alpha1\nkind: ParityEnvironment\nmetadata: {name: dev}\n"
                    "spec:\n  redis:\n    replicas: 3\n  redis:\n    replicas: 1\n")
    code, _, err = run(capsys, "validate", str(path))
    assert code == 1
    assert f"{path}: line 7, column 3: YAML error: duplicate key 'redis' (first at line 5)" in err, err


def test_merge_keys_may_be_overridden(tmp_path, capsys):
    path = tmp_path / "merge.yaml"
    path.write_text("apiVersion: parity.dev/v1alpha1\nkind: ParityEnvironment\nmetadata: {name: dev}\n"
                    "spec:\n  etcd: &e {replicas: 3}\n  postgres:\n    <<: {replicas: 1}\n    replicas: 2\n")
    code, out, err = run(capsys, "validate", str(path))
    assert code == 0, err


def test_oversized_input_is_refused(tmp_path, capsys):
    path = tmp_path / "big.yaml"
    path.write_text("# " + "x" * yamlfile.MAX_INPUT_BYTES + "\n")
    code, _, err = run(capsys, "validate", str(path))
    assert code == 1 and f"{path}: larger than 1024 KiB" in err, err


@pytest.mark.parametrize("nested", ["[" * 5000 + "]" * 5000, "a:\n" + "".join(f"{' ' * i}b:\n" for i in range(1, 200))])
def test_deep_nesting_is_a_clear_error_not_a_traceback(tmp_path, capsys, nested):
    path = tmp_path / "deep.yaml"
    path.write_text(nested)
    code, _, err = run(capsys, "validate", str(path))
    assert code == 1
    assert f"{path}: line " in err and f"nesting deeper than {yamlfile.MAX_DEPTH} levels" in err, err
    assert "Traceback" not in err


def test_not_utf8_is_refused(tmp_path, capsys):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"kind: Parity\xe9\n")
    code, _, err = run(capsys, "validate", str(path))
    assert code == 1 and f"{path}: not UTF-8" in err, err


def test_the_console_script_refuses_a_malformed_file(tmp_path):
    """Once through a real process: exit code 1, one line on stderr, no traceback."""
    case = next(case for case in MALFORMED if case["id"] == "redis-config-value-injects-slaveof")
    path = tmp_path / "inject.yaml"
    path.write_text(json.dumps(manifest(case)))
    result = subprocess.run([sys.executable, "-m", "parity.cli.main", "validate", str(path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.startswith(f"parity: {path}: spec.redis.config.maxmemory: must not contain a newline")
    assert "Traceback" not in result.stderr
