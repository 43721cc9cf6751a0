"""`parity diff` / `parity validate` in file mode: exit codes, output shapes, error messages."""

import json
import textwrap
import xml.etree.ElementTree as ET

import pytest
import yaml

from parity.cli.main import main

ENV = """\
apiVersion: parity.dev/v1alpha1
kind: ParityEnvironment
metadata:
  name: dev
spec:
  baselineRef:
    name: production
  postgres:
    version: "15"
    parameters:
      max_connections: "200"
      shared_buffers: 256MB
{drift}"""

BASELINE = """\
apiVersion: parity.dev/v1alpha1
kind: ParityBaseline
metadata:
  name: production
spec:
  environment:
    postgres:
      version: "{version}"
      parameters:
        max_connections: "200"
        shared_buffers: "32768"
  rules:
    - path: postgres.version
      severity: {severity}
"""


@pytest.fixture
def files(tmp_path):
    def write(env_drift="", version="16", severity="critical", env_text=None, baseline_text=None):
        env = tmp_path / "dev.yaml"
        base = tmp_path / "production.yaml"
        env.write_text(env_text if env_text is not None else ENV.format(drift=textwrap.indent(env_drift, "  ")))
        base.write_text(baseline_text if baseline_text is not None else BASELINE.format(version=version, severity=severity))
        return str(env), str(base)

    return write


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_no_drift_exits_zero(files, capsys):
    env, base = files(version="15")
    code, out, err = run(capsys, "diff", env, "--baseline", base)
    assert code == 0
    assert out == 'No drift against baseline "production".\n'
    assert err == ""


def test_critical_drift_exits_two_with_table(files, capsys):
    env, base = files()
    code, out, _ = run(capsys, "diff", env, "--baseline", base)
    assert code == 2
    assert "postgres.version" in out and "critical" in out
    assert "\033[" not in out  # captured stdout is not a terminal
    assert out.rstrip().endswith('1 finding against baseline "production": 1 critical, 0 warning, 0 info.')


@pytest.mark.parametrize(
    "severity, flag, spec_fail_on, expected",
    [
        ("warning", None, None, 0),  # default critical
        ("warning", None, "warning", 2),  # spec.drift.failOn
        ("warning", "critical", "warning", 0),  # the flag wins over the spec
        ("info", "info", None, 2),
        ("info", "warning", None, 0),
        ("critical", "info", "critical", 2),
    ],
)
def test_fail_on_precedence(files, capsys, severity, flag, spec_fail_on, expected):
    env, base = files(env_drift=f"drift:\n  failOn: {spec_fail_on}\n" if spec_fail_on else "", severity=severity)
    argv = ["diff", env, "--baseline", base] + (["--fail-on", flag] if flag else [])
    assert run(capsys, *argv)[0] == expected


def test_json_output(files, capsys):
    env, base = files()
    code, out, _ = run(capsys, "diff", env, "-b", base, "-o", "json")
    assert code == 2
    data = json.loads(out)
    assert data == {
        "baseline": "production",
        "summary": {"critical": 1, "warning": 0, "info": 0},
        "items": [{
            "path": "postgres.version", "component": "postgres", "level": "declared", "change": "modified",
            "local": "15", "baseline": "16", "severity": "critical",
            "remediation": 'set spec.postgres.version to "16": production runs 16, this environment runs 15',
        }],
        "verdict": "critical",
        # File mode compares the declared level only, and says so.
        "levels": {
            "declared": {"state": "ran"},
            "live": {"state": "skipped", "reason": "NotRequested", "message": "live objects not compared"},
            "runtime": {"state": "skipped", "reason": "NotRequested", "message": "running services not probed"},
        },
    }


def test_yaml_output(files, capsys):
    env, base = files()
    code, out, _ = run(capsys, "diff", env, "-b", base, "-o", "yaml")
    assert code == 2
    assert yaml.safe_load(out)["items"][0]["path"] == "postgres.version"


def test_junit_output(files, capsys):
    env, base = files(severity="warning")
    code, out, _ = run(capsys, "diff", env, "-b", base, "-o", "junit", "--fail-on", "warning")
    assert code == 2
    suite = ET.fromstring(out).find("testsuite")
    assert suite.get("failures") == "1"
    env2, base2 = files(version="15")
    code, out, _ = run(capsys, "diff", env2, "-b", base2, "-o", "junit")
    assert code == 0
    assert ET.fromstring(out).find("testsuite").get("tests") == "1"


def test_ignore_in_spec(files, capsys):
    env, base = files(env_drift="drift:\n  ignore: [postgres.version]\n")
    code, out, _ = run(capsys, "diff", env, "-b", base, "-o", "json")
    assert code == 0
    assert json.loads(out)["items"] == []


def test_no_color_with_env_var(files, capsys, monkeypatch):
    class Tty:
        def __init__(self):
            self.parts = []

        def write(self, text):
            self.parts.append(text)

        def isatty(self):
            return True

        def flush(self):
            pass

    env, base = files()
    tty = Tty()
    monkeypatch.setattr("sys.stdout", tty)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert main(["diff", env, "-b", base]) == 2
    assert "\033[31m" in "".join(tty.parts)
    tty.parts.clear()
    monkeypatch.setenv("NO_COLOR", "1")
    assert main(["diff", env, "-b", base]) == 2
    assert "\033[" not in "".join(tty.parts)


# ---- bad input: exit 1, message names file and field, no traceback ------------------------


def assert_error(capsys, argv, *fragments):
    code, out, err = run(capsys, *argv)
    assert code == 1
    assert "Traceback" not in err
    assert err.startswith("parity: ")
    for fragment in fragments:
        assert fragment in err, err
    return err


def test_missing_files(files, capsys, tmp_path):
    env, base = files()
    missing = str(tmp_path / "nope.yaml")
    assert_error(capsys, ["diff", missing, "-b", base], missing, "no such file")
    assert_error(capsys, ["diff", env, "-b", missing], missing, "no such file")
    assert_error(capsys, ["diff", str(tmp_path), "-b", base], str(tmp_path), "directory")


def test_missing_baseline_flag(files, capsys):
    env, _ = files()
    assert_error(capsys, ["diff", env], env, "--baseline")


def test_yaml_syntax_error_names_line(files, capsys):
    env, base = files(env_text="apiVersion: parity.dev/v1alpha1\nkind: ParityEnvironment\nspec:\n  etcd: [1, 2\n")
    assert_error(capsys, ["diff", env, "-b", base], env, "line 5", "YAML syntax error")


def test_wrong_kind_and_api_version(files, capsys):
    env, base = files()
    assert_error(capsys, ["diff", base, "-b", base], base, "kind", "'ParityBaseline'", "expected ParityEnvironment")
    assert_error(capsys, ["diff", env, "-b", env], env, "kind", "expected ParityBaseline")
    env2, _ = files(env_text="apiVersion: v1\nkind: ParityEnvironment\nspec: {}\n")
    assert_error(capsys, ["diff", env2, "-b", base], env2, "apiVersion", "parity.dev/v1alpha1")
    env3, _ = files(env_text="apiVersion: parity.dev/v1alpha1\nspec: {}\n")
    assert_error(capsys, ["diff", env3, "-b", base], env3, "kind: is missing")


def test_multi_document_and_empty_and_scalar(files, capsys):
    doc = ENV.format(drift="")
    env, base = files(env_text=doc + "---\n" + doc)
    assert_error(capsys, ["diff", env, "-b", base], env, "2 YAML documents")
    env, base = files(env_text="")
    assert_error(capsys, ["diff", env, "-b", base], env, "empty")
    env, base = files(env_text="just a string\n")
    assert_error(capsys, ["diff", env, "-b", base], env, "mapping")
    env, base = files(env_text="apiVersion: parity.dev/v1alpha1\nkind: ParityEnvironment\nspec: [1]\n")
    assert_error(capsys, ["diff", env, "-b", base], env, "spec: must be a mapping")


def test_invalid_fields_name_file_and_field(files, capsys):
    env, base = files(env_text=ENV.format(drift="").replace('version: "15"', 'version: "15"\n  etcd:\n    replicas: 2'))
    assert_error(capsys, ["diff", env, "-b", base], f"{env}: spec.etcd.replicas:", "odd")
    env, base = files(env_text=ENV.format(drift="  bogus: 1\n"))
    assert_error(capsys, ["diff", env, "-b", base], f"{env}: spec.bogus")
    _, base = files(baseline_text=BASELINE.format(version="16", severity="fatal"))
    assert_error(capsys, ["diff", env, "-b", base], f"{base}: spec.rules[0].severity")


def test_bad_options_exit_one_not_two(files, capsys):
    env, base = files()
    assert_error(capsys, ["diff", env, "-b", base, "--fail-on", "fatal"], "--fail-on", "'fatal'", "critical")
    assert_error(capsys, ["diff", env, "-b", base, "-o", "xml"], "--output", "'xml'", "junit")
    assert_error(capsys, ["validate", env, "-o", "xml"], "--output")
    # Usage errors of the argument parser itself must not read as "drift found" (2) either.
    # (Unknown flags are refused by the top-level parser in cli/main.py, outside this module.)
    for argv in (["diff"], ["validate"], ["diff", env, "-b"]):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 1
        assert "usage:" in capsys.readouterr().err


def test_cluster_mode_flags_are_checked(files, capsys):
    env, base = files()
    # -n with --baseline compares the running environment with the file (test_cli_diff_live_baseline.py);
    # the file is read first, so a bad one is reported without a cluster.
    assert_error(capsys, ["diff", "-n", "team-a", "dev", "-b", env], "kind: is 'ParityEnvironment'")
    assert_error(capsys, ["diff", env, "-b", base, "--context", "x"], "--context")


def test_cluster_mode_unreachable_names_endpoint(capsys, tmp_path, monkeypatch):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(textwrap.dedent("""\
        apiVersion: v1
        kind: Config
        clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
        users: [{name: u, user: {token: t}}]
        contexts: [{name: x, context: {cluster: c, user: u}}]
        current-context: x
    """))
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    assert_error(capsys, ["diff", "-n", "team-a", "dev"], "https://127.0.0.1:1")


# ---- validate ------------------------------------------------------------------------------


def test_validate_files(files, capsys):
    env, base = files()
    code, out, _ = run(capsys, "validate", env)
    assert code == 0 and "valid ParityEnvironment 'dev'" in out
    code, out, _ = run(capsys, "validate", base)
    assert code == 0 and "valid ParityBaseline 'production'" in out
    code, out, _ = run(capsys, "validate", env, "-o", "json")
    assert code == 0 and json.loads(out)["items"] == []


def test_validate_with_baseline_is_a_diff(files, capsys):
    env, base = files()
    assert run(capsys, "validate", env, "--baseline", base)[0] == 2
    assert run(capsys, "validate", env, "--baseline", base, "--fail-on", "critical")[0] == 2
    env, base = files(version="15")
    assert run(capsys, "validate", env, "--baseline", base)[0] == 0


def test_validate_refuses_a_baseline_reference_mismatch(files, capsys):
    env, base = files(baseline_text=BASELINE.format(version="15", severity="critical").replace("name: production", "name: staging"))
    assert_error(capsys, ["validate", env, "--baseline", base], env, "spec.baselineRef.name", "'production'", "'staging'")
    # diff only warns
    code, _, err = run(capsys, "diff", env, "--baseline", base)
    assert code == 0 and "warning" in err and "staging" in err


def test_validate_invalid_file(files, capsys):
    env, _ = files(env_text=ENV.format(drift="  drift:\n    policy: sometimes\n"))
    assert_error(capsys, ["validate", env], f"{env}: spec.drift.policy")


def test_invalid_combination_is_refused_offline_like_the_operator_does(tmp_path, capsys):
    from parity.cli.main import main

    env = tmp_path / "env.yaml"
    env.write_text(
        "apiVersion: parity.dev/v1alpha1\nkind: ParityEnvironment\nmetadata: {name: dev}\n"
        "spec:\n  redis: {mode: sentinel, replicas: 1, sentinel: {replicas: 1, quorum: 1}}\n"
    )
    base = tmp_path / "base.yaml"
    base.write_text("apiVersion: parity.dev/v1alpha1\nkind: ParityBaseline\nmetadata: {name: production}\nspec: {}\n")
    assert main(["diff", str(env), "--baseline", str(base)]) == 1
    err = capsys.readouterr().err
    assert str(env) in err and "spec.redis.replicas" in err
