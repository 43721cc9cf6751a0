"""Properties of the drift engine over generated, valid environments."""

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parity.api import BaselineSpec, parse_baseline, parse_environment
from parity.api.models import DriftSpec
from parity.drift.engine import evaluate_drift
from parity.drift.normalize import KIND_QUANTITY, KIND_REDIS, canonical, equivalent
from parity.drift.paths import parse_path, render_path
from parity.drift.rules import assess
from parity.probes.base import ProbeResult

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

names = st.from_regex(r"[a-z][a-z_]{0,14}", fullmatch=True)
dotted_names = st.one_of(names, st.builds(lambda a, b: f"{a}.{b}", names, names))
quantities = st.sampled_from(["100m", "0.5", "1", "2", "250m", "1Gi", "1024Mi", "512Mi", "2G", "1k"])
pg_values = st.one_of(
    st.sampled_from(["on", "off", "true", "1", "256MB", "262144kB", "32768", "4MB", "30s", "1min", "replica", "logical"]),
    st.integers(-5, 100000).map(str),
    # Any text a config file line can hold: no control characters (the schema refuses them).
    st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=12),
)


@st.composite
def resources(draw):
    section = {}
    for part in ("requests", "limits"):
        if draw(st.booleans()):
            section[part] = {k: draw(quantities) for k in draw(st.sets(st.sampled_from(["cpu", "memory"]), min_size=1))}
    return section or None


@st.composite
def sections(draw):
    spec = {
        "etcd": {"replicas": draw(st.sampled_from([1, 3, 5, 7])), "version": draw(st.sampled_from(["3.5.17", "3.5.16"]))},
        "postgres": {
            "replicas": draw(st.integers(1, 9)),
            "version": draw(st.sampled_from(["15", "16", "17"])),
            "parameters": draw(st.dictionaries(dotted_names, pg_values, max_size=8)),
            "patroni": {"synchronousMode": draw(st.booleans()), "ttl": draw(st.integers(30, 90))},
            "storage": {"size": draw(quantities)},
        },
        "redis": {
            "mode": draw(st.sampled_from(["standalone", "sentinel"])),
            "config": draw(st.dictionaries(st.from_regex(r"[a-z][a-z-]{0,12}", fullmatch=True),
                                           st.sampled_from(["1gb", "1073741824", "100mb", "yes", "no", "allkeys-lru", "0"]),
                                           max_size=4)),
            "sentinel": {"quorum": draw(st.integers(1, 3))},
        },
        "observability": {"enabled": draw(st.booleans()), "grafana": {"enabled": draw(st.booleans())}},
    }
    for name in ("etcd", "postgres", "redis"):
        res = draw(resources())
        if res:
            spec[name]["resources"] = res
    return spec


environments = sections().map(parse_environment)


def baseline_of(env, **extra) -> BaselineSpec:
    return parse_baseline({"environment": env.sections().to_wire(), **extra})


@SETTINGS
@given(environments)
def test_environment_against_itself_has_no_drift(env):
    desired = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "n"},
                "data": {k: v for k, v in env.postgres.parameters.items()}}]
    live = [{**desired[0], "metadata": {**desired[0]["metadata"], "managedFields": [
        {"manager": "parity-operator", "operation": "Apply", "fieldsV1": {"f:data": {f"f:{k}": {} for k in env.postgres.parameters}}}]}}]
    wire = env.sections().to_wire()
    probes = [ProbeResult("postgres", "p:5432", values={
        render_path(parse_path(f"postgres.parameters[{_quoted(k)}]")): v for k, v in env.postgres.parameters.items()
    } | {"postgres.replicas": wire["postgres"]["replicas"], "etcd.replicas": wire["etcd"]["replicas"]})]
    report = evaluate_drift(env, baseline_of(env), "self", desired=desired, live=live, probe_results=probes)
    assert report.findings == ()
    assert report.highest == "none"


def _quoted(key):
    import json

    return json.dumps(key)


@SETTINGS
@given(environments, environments, st.data())
def test_ignoring_paths_removes_exactly_their_findings(env, other, data):
    baseline = baseline_of(other)
    before = evaluate_drift(env, baseline, "b").findings
    paths = sorted({f.path for f in before})
    ignored = data.draw(st.lists(st.sampled_from(paths), unique=True) if paths else st.just([]))
    ignoring = env.model_copy(update={"drift": DriftSpec(ignore=ignored)})
    after = evaluate_drift(ignoring, baseline, "b").findings
    assert after == tuple(f for f in before if f.path not in set(ignored))


def _pattern_regex(pattern):
    # An independent reading of the documented syntax, for paths without quoted keys.
    parts = pattern.split(".")
    out = []
    for part in parts:
        out.append(r"[^.]+" if part == "*" else re.escape(part))
    return re.compile("^" + r"\.".join(out) + "$")


rule_patterns = st.sampled_from([
    "postgres.version", "redis.mode", "etcd.replicas", "postgres.*", "*.replicas", "*.*", "postgres.parameters.*",
    "redis.config.*", "postgres.patroni.*", "*.*.*", "observability.*.enabled", "redis.sentinel.quorum",
])


@SETTINGS
@given(
    sections().filter(lambda s: all("." not in k for k in s["postgres"]["parameters"])).map(parse_environment),
    environments,
    st.lists(st.tuples(rule_patterns, st.sampled_from(["info", "warning", "critical"])), min_size=1, max_size=6),
    st.sampled_from(["info", "warning", "critical"]),
)
def test_severities_follow_the_first_matching_rule(env, other, rules, default):
    wire = other.sections().to_wire()
    wire["postgres"]["parameters"] = {k: v for k, v in wire["postgres"]["parameters"].items() if "." not in k}
    baseline = parse_baseline({"environment": wire, "rules": [{"path": p, "severity": s} for p, s in rules],
                               "defaultSeverity": default})
    for finding in evaluate_drift(env, baseline, "b").findings:
        expected = next((s for p, s in rules if _pattern_regex(p).match(finding.path)), default)
        assert finding.severity == expected, finding.path
        assert assess(finding, baseline).severity == expected


values = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["256MB", "262144kB", "32768", "on", "true", "1", "off", "0", "1gb", "1073741824", "1Gi", "1024Mi",
                     "500m", "0.5", "5min", "300s", "yes", "YES", " 7 ", "1e3", "1k", "-1", "'256MB'", "8kB"]),
    st.text(max_size=10),
)
kinds = st.sampled_from(["generic", KIND_QUANTITY, KIND_REDIS, "postgres:shared_buffers", "postgres:work_mem",
                         "postgres:fsync", "postgres:statement_timeout", "postgres:max_connections", "postgres:unknown"])


@settings(max_examples=400, deadline=None)
@given(values, values, kinds)
def test_normalisation_is_symmetric_and_never_raises(a, b, kind):
    assert equivalent(a, b, kind) == equivalent(b, a, kind)
    canonical(a, kind)


@settings(max_examples=200, deadline=None)
@given(values, kinds)
def test_normalisation_is_reflexive(a, kind):
    assert equivalent(a, a, kind)
