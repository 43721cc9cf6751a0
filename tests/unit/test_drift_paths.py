"""Finding paths: rendering, parsing, pattern matching."""

import pytest

from parity.drift.paths import Element, Index, Item, Key, join_path, match_path, parse_path, render_path, resolve


@pytest.mark.parametrize(
    "segments, text",
    [
        ((Key("postgres"), Key("parameters"), Key("max_connections")), "postgres.parameters.max_connections"),
        ((Key("postgres"), Key("parameters"), Key("pg_stat_statements.max")), 'postgres.parameters["pg_stat_statements.max"]'),
        ((Key("spec"), Key("containers"), Item((("name", "etcd"),)), Key("image")), "spec.containers[name=etcd].image"),
        (
            (Key("ports"), Item((("containerPort", 5432), ("protocol", "TCP")))),
            "ports[containerPort=5432,protocol=TCP]",
        ),
        ((Key("metadata"), Key("finalizers"), Element("parity.dev/finalizer")), "metadata.finalizers[=parity.dev/finalizer]"),
        ((Key("args"), Index(2)), "args[2]"),
        ((Key("a"), Key("*")), 'a["*"]'),
        ((Key("a"), Key("with space")), 'a["with space"]'),
        ((Key("env"), Item((("name", "5432"),))), 'env[name="5432"]'),
    ],
)
def test_render_and_parse_round_trip(segments, text):
    assert render_path(segments) == text
    assert parse_path(text) == segments


def test_join_path_quotes_dotted_keys():
    assert join_path("live", "StatefulSet", "metadata", "annotations", "kubectl.kubernetes.io/restartedAt") == (
        'live.StatefulSet.metadata.annotations["kubectl.kubernetes.io/restartedAt"]'
    )


@pytest.mark.parametrize(
    "pattern, path, expected",
    [
        ("postgres.version", "postgres.version", True),
        ("postgres.version", "postgres.versions", False),
        ("postgres.*", "postgres.version", True),
        ("postgres.*", "postgres.parameters.max_connections", False),
        ("*.replicas", "etcd.replicas", True),
        ("*.replicas", "redis.sentinel.replicas", False),
        ("*.resources.**", "postgres.resources", True),
        ("*.resources.**", "postgres.resources.limits.cpu", True),
        ("*.resources.**", "postgres.storage.size", False),
        ("**", "anything.at.all", True),
        ("live.**.image", "live.StatefulSet.spec.template.spec.containers[name=etcd].image", True),
        ("live.*.spec.template.spec.containers.*.image", "live.StatefulSet.spec.template.spec.containers[name=etcd].image", True),
        ("live.*.spec.template.spec.containers.etcd.image", "live.StatefulSet.spec.template.spec.containers[name=etcd].image", True),
        ("live.*.spec.template.spec.containers.redis.image", "live.StatefulSet.spec.template.spec.containers[name=etcd].image", False),
        ("live.*.spec.template.spec.containers[name=etcd].image", "live.StatefulSet.spec.template.spec.containers[name=etcd].image", True),
        # A run of bare segments spells a dotted key; a quoted pattern key matches it too.
        ("postgres.parameters.pg_stat_statements.max", 'postgres.parameters["pg_stat_statements.max"]', True),
        ('postgres.parameters["pg_stat_statements.max"]', 'postgres.parameters["pg_stat_statements.max"]', True),
        ("postgres.parameters.*", 'postgres.parameters["pg_stat_statements.max"]', True),
        ("postgres.parameters.pg_stat_statements", 'postgres.parameters["pg_stat_statements.max"]', False),
        ("postgres.parameters.*.max", 'postgres.parameters["pg_stat_statements.max"]', False),
        (
            "live.*.spec.template.metadata.annotations.kubectl.kubernetes.io/restartedAt",
            'live.Deployment.spec.template.metadata.annotations["kubectl.kubernetes.io/restartedAt"]',
            True,
        ),
        # A quoted star is a literal key, not a wildcard.
        ('a["*"]', "a.b", False),
    ],
)
def test_match_path(pattern, path, expected):
    assert match_path(pattern, path) is expected


@pytest.mark.parametrize("garbage", ["", "[", "a[", 'a["unterminated', "]]", "a..b", "[=", "[k=]", None, 42])
def test_garbage_never_raises(garbage):
    assert isinstance(parse_path(garbage), tuple)
    assert match_path(garbage, "postgres.version") in (True, False)
    assert match_path("postgres.*", garbage) in (True, False)


def test_resolve_accepts_bare_dotted_keys():
    data = {"postgres": {"parameters": {"pg_stat_statements.max": "10000", "work_mem": "4MB"}}}
    found, value, segments = resolve(data, "postgres.parameters.pg_stat_statements.max")
    assert found and value == "10000"
    assert render_path(segments) == 'postgres.parameters["pg_stat_statements.max"]'
    assert resolve(data, "postgres.parameters.work_mem")[1] == "4MB"
    assert resolve(data, "postgres.parameters.missing")[0] is False
    assert resolve(data, "postgres.parameters.work_mem.deeper")[0] is False
