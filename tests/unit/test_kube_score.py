"""An outside linter on every rendered variant: kube-score (built by `tools/controlplane/build.sh
lint`, cached by version) may report only what tests/data/kube-score-exceptions.yaml lists, each
with the reason it is accepted. A finding nobody wrote down fails; so does an exception no
variant needs any more, so the file cannot rot into a blanket waiver.

Not skipped when kube-score is missing: a missing linter fails, so this check cannot pass unseen.
"""

from __future__ import annotations

import fnmatch
import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from parity.api import parse_environment
from parity.render.environment import build_children
from parity.render.postgres import PASSWORD_KEYS
from render_variants import VARIANTS

REPO = Path(__file__).resolve().parents[2]
EXCEPTIONS_FILE = REPO / "tests/data/kube-score-exceptions.yaml"
# kube-score's grades: 1 critical, 5 warning, 7 almost OK, 10 OK.
FINDING_GRADES = {1: "CRITICAL", 5: "WARNING"}
# Fixed placeholder passwords: the Secret is rendered so kube-score sees every object, and the
# values never matter to a linter.
PASSWORDS = dict.fromkeys(PASSWORD_KEYS, "x")


def kube_score_binary() -> Path:
    go_mod = (REPO / "tools/controlplane/kube-score/go.mod").read_text()
    version = next(line.split()[-1] for line in go_mod.splitlines() if "github.com/zegl/kube-score " in line)
    cache = Path(os.environ.get("PARITY_CACHE", Path.home() / ".cache/parity"))
    return cache / "lint" / f"kube-score-{version}" / "bin" / "kube-score"


@pytest.fixture(scope="module")
def kube_score() -> Path:
    binary = kube_score_binary()
    if not binary.is_file():
        pytest.fail(f"{binary} is missing: run `tools/controlplane/build.sh lint` (tools/setup-deps.sh does)")
    return binary


def load_exceptions() -> list[dict]:
    entries = yaml.safe_load(EXCEPTIONS_FILE.read_text())["exceptions"]
    for entry in entries:
        assert set(entry) <= {"check", "grades", "objects", "containers", "reason"}, entry
        assert set(entry.get("grades", FINDING_GRADES.values())) <= set(FINDING_GRADES.values()), entry
        assert entry["check"] and entry["objects"] and entry.get("reason", "").strip(), entry
    return entries


def findings(kube_score: Path, children: list[dict], tmp_path: Path) -> set[tuple[str, str, str, str]]:
    """(grade, check id, Kind/name, container or path) of every finding."""
    manifest = tmp_path / "children.yaml"
    manifest.write_text(yaml.safe_dump_all(children, sort_keys=False))
    result = subprocess.run([str(kube_score), "score", "--output-format", "json", str(manifest)],
                            capture_output=True, text=True, timeout=120)
    # Exit code 1 means "found something"; anything else (or no JSON) is a broken run.
    assert result.returncode in (0, 1), result.stderr
    found = set()
    for obj in json.loads(result.stdout):
        where = f"{obj['type_meta']['kind']}/{obj['object_meta']['name']}"
        for check in obj["checks"]:
            if check["skipped"] or check["grade"] not in FINDING_GRADES:
                continue
            for comment in check["comments"] or [{"path": ""}]:
                found.add((FINDING_GRADES[check["grade"]], check["check"]["id"], where, comment["path"]))
    return found


def excused_by(entry: dict, finding: tuple[str, str, str, str]) -> bool:
    grade, check, where, path = finding
    return (entry["check"] == check
            and grade in entry.get("grades", FINDING_GRADES.values())
            and any(fnmatch.fnmatchcase(where, pattern) for pattern in entry["objects"])
            and any(fnmatch.fnmatchcase(path, pattern) for pattern in entry.get("containers", ["*"])))


def render(name: str) -> list[dict]:
    spec = parse_environment(VARIANTS[name], source=name)
    return build_children("dev", "default", "00000000-0000-0000-0000-000000000042", spec, secret_values=PASSWORDS)


@pytest.fixture(scope="module")
def every_variant(kube_score, tmp_path_factory) -> dict[str, set]:
    return {name: findings(kube_score, render(name), tmp_path_factory.mktemp(name)) for name in sorted(VARIANTS)}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_kube_score_finds_nothing_unexcused(every_variant, name):
    exceptions = load_exceptions()
    unexcused = sorted(f for f in every_variant[name] if not any(excused_by(e, f) for e in exceptions))
    assert unexcused == [], (
        f"kube-score findings on variant {name!r} not listed in {EXCEPTIONS_FILE.name} "
        "(fix them in render/, or add them there with the reason): " + json.dumps(unexcused, indent=1))


def test_every_exception_is_still_needed(every_variant):
    used = {i for found in every_variant.values() for f in found
            for i, entry in enumerate(load_exceptions()) if excused_by(entry, f)}
    stale = [entry["check"] + " " + ",".join(entry["objects"])
             for i, entry in enumerate(load_exceptions()) if i not in used]
    assert stale == [], "exceptions no rendered variant needs any more: remove them"


def test_an_unlisted_finding_is_caught():
    finding = ("CRITICAL", "pod-networkpolicy", "StatefulSet/dev-redis", "")
    assert not any(excused_by(e, finding) for e in load_exceptions() if e["check"] != "pod-networkpolicy")
    assert excused_by({"check": "pod-networkpolicy", "objects": ["StatefulSet/dev-*"], "reason": "r"}, finding)
    assert not excused_by({"check": "pod-networkpolicy", "objects": ["Deployment/*"], "reason": "r"}, finding)
    assert not excused_by({"check": "pod-networkpolicy", "grades": ["WARNING"], "objects": ["*"], "reason": "r"},
                          finding)


def test_only_the_policies_off_variant_leaves_pods_without_a_network_policy(every_variant):
    uncovered = {name for name, found in every_variant.items()
                 if any(f[:2] == ("CRITICAL", "pod-networkpolicy") for f in found)}
    assert uncovered == {"network-policies-off"}
