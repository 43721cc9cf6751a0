"""docs/crd-reference.md is generated from the CRD schemas and must not go stale."""

from __future__ import annotations

from pathlib import Path

import pytest

from parity import constants as c
from parity.cli.main import main
from parity.crdref import FieldRow, describe_constraints, iter_field_rows, render_crd_reference
from parity.crds import build_crds

REPO = Path(__file__).resolve().parents[2]
REFERENCE = REPO / "docs" / "crd-reference.md"


def test_committed_reference_is_up_to_date():
    assert REFERENCE.read_text() == render_crd_reference(build_crds()), (
        "docs/crd-reference.md is stale: run `parity docs crd-reference --write`")


def _schema_paths(schema: dict, path: str):
    yield path
    for name, child in schema.get("properties", {}).items():
        yield from _schema_paths(child, f"{path}.{name}")
    items = schema.get("items")
    if isinstance(items, dict):
        for name, child in items.get("properties", {}).items():
            yield from _schema_paths(child, f"{path}[].{name}")


@pytest.mark.parametrize("kind", [c.ENVIRONMENT_KIND, c.BASELINE_KIND])
def test_every_field_has_a_row(kind):
    text = render_crd_reference(build_crds())
    root = build_crds()[kind]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    paths = [p for part in ("spec", "status") if part in root["properties"]
             for p in _schema_paths(root["properties"][part], part)]
    assert len(paths) > 40
    section = text.split(f"## {kind}\n", 1)[1].split("\n## ", 1)[0]
    missing = [p for p in paths if f"| `{p}` |" not in section]
    assert missing == []


def test_row_shows_type_default_constraints_and_description():
    rows = {row.path: row for row in iter_field_rows(
        build_crds()[c.ENVIRONMENT_KIND]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"],
        "spec")}
    replicas = rows["spec.etcd.replicas"]
    assert (replicas.type, replicas.default) == ("integer", "`3`")
    assert "minimum 1" in replicas.constraints and "maximum 7" in replicas.constraints
    assert "`self % 2 == 1`" in replicas.constraints and "must be odd" in replicas.constraints
    assert replicas.description
    assert rows["spec.postgres.version"].default == '`"16"`'
    assert rows["spec.postgres.parameters"].type == "map of string"
    assert rows["spec.drift.ignore"].type == "list of string"
    assert rows["spec.baselineRef.name"].constraints.startswith("required")
    assert "one of `report`, `approve`, `enforce`" in rows["spec.drift.policy"].constraints


def test_reference_documents_strict_field_validation():
    text = render_crd_reference(build_crds())
    assert "--validate=strict" in text and "pruned" in text


def test_pipes_in_cells_are_escaped():
    schema = {"type": "object", "description": "root", "properties": {
        "x": {"type": "string", "description": "a|b", "pattern": "^(a|b)$"}}}
    rows = list(iter_field_rows(schema, "spec"))
    assert rows[1] == FieldRow("spec.x", "string", "", "pattern `^(a|b)$`", "a|b")
    crd = {"spec": {"group": "g", "scope": "Cluster", "names": {"kind": "K", "plural": "ks"},
                    "versions": [{"name": "v1", "storage": True, "schema": {"openAPIV3Schema": {
                        "type": "object", "properties": {"spec": schema}}}}]}}
    line = next(line for line in render_crd_reference({"K": crd}).splitlines() if line.startswith("| `spec.x`"))
    assert line == "| `spec.x` | string |  | pattern `^(a\\|b)$` | a\\|b |"


def test_constraints_text():
    assert describe_constraints({"enum": ["a", "b"], "nullable": True}, required=True) == (
        "required; one of `a`, `b`; nullable")
    assert describe_constraints({}, required=False) == ""


def test_cli_check_fails_on_a_stale_file(tmp_path, capsys):
    stale = tmp_path / "ref.md"
    stale.write_text("# old\n")
    assert main(["docs", "crd-reference", "--check", "--output", str(stale)]) == 1
    err = capsys.readouterr().err
    assert str(stale) in err and "stale" in err and "--write" in err


def test_cli_check_fails_on_a_missing_file(tmp_path, capsys):
    assert main(["docs", "crd-reference", "--check", "--output", str(tmp_path / "none.md")]) == 1
    assert "none.md" in capsys.readouterr().err


def test_cli_write_then_check(tmp_path, capsys):
    target = tmp_path / "docs" / "crd-reference.md"
    assert main(["docs", "crd-reference", "--write", "--output", str(target)]) == 0
    assert target.read_text() == render_crd_reference(build_crds())
    assert main(["docs", "crd-reference", "--check", "--output", str(target)]) == 0


def test_cli_prints_without_flags(capsys):
    assert main(["docs", "crd-reference"]) == 0
    assert capsys.readouterr().out == render_crd_reference(build_crds())
