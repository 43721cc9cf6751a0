"""Finding paths: rendering, parsing, pattern matching."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parity.drift.paths import (
    Element,
    Index,
    Item,
    Key,
    PatternList,
    compile_patterns,
    join_path,
    key_glob,
    match_key_glob,
    match_path,
    match_segments,
    parse_path,
    parse_pattern,
    plain_names,
    render_path,
    resolve,
)


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


MATCH_CASES = [
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
]


@pytest.mark.parametrize("pattern, path, expected", MATCH_CASES)
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


def first_match_one_by_one(patterns, path):
    """What PatternList.first_match must answer: the first pattern match_path accepts."""
    return next((position for position, pattern in enumerate(patterns) if match_path(pattern, path)), None)


GARBAGE_PATTERNS = ["", "[", "a[", 'a["unterminated', "]]", "a..b", "[=", "[k=]", None, 42, ["unhashable"]]


@pytest.mark.parametrize("pattern, path, expected", MATCH_CASES)
def test_pattern_list_agrees_with_match_path_on_each_case(pattern, path, expected):
    assert (compile_patterns([pattern]).first_match(path) == 0) is expected


def test_pattern_list_finds_the_first_of_all_the_cases_patterns():
    patterns = [pattern for pattern, _path, _expected in MATCH_CASES] + GARBAGE_PATTERNS
    paths = [path for _pattern, path, _expected in MATCH_CASES] + ["", "x", "etcd", 'a["*"]', "[name=a].b"]
    for ordered in (patterns, list(reversed(patterns))):
        compiled = PatternList(tuple(ordered))
        for path in paths:
            assert compiled.first_match(path) == first_match_one_by_one(ordered, path), (path, ordered)


@pytest.mark.parametrize("path", ["", "postgres.version", "[", None, 42, ["unhashable"]])
def test_garbage_patterns_and_paths_never_raise_in_a_pattern_list(path):
    compiled = compile_patterns(GARBAGE_PATTERNS + ["postgres.*"])
    assert compiled.first_match(path) == first_match_one_by_one(GARBAGE_PATTERNS + ["postgres.*"], path)


def test_pattern_list_tries_only_patterns_led_by_the_first_key_or_not_by_a_key():
    compiled = PatternList(("postgres.version", "*.image", "redis.mode", "postgres.*", "**", "[name=a]"))
    assert compiled.candidates(parse_path("postgres.version")) == (0, 1, 3, 4, 5)
    assert compiled.candidates(parse_path("etcd.image")) == (1, 4, 5)
    # A dotted first key may be spelled by a run of pattern keys: every pattern is tried.
    assert compiled.candidates(parse_path('["postgres.version"]')) == (0, 1, 2, 3, 4, 5)


def test_key_glob_only_for_patterns_of_keys_and_wildcards():
    assert key_glob(parse_pattern("a.*.**.b")) == (("a", None), ("b",))
    assert key_glob(parse_pattern('a["*"]')) == (("a", "*"),)
    assert key_glob(parse_pattern("a[name=b]")) is None
    assert plain_names(parse_path("a.b")) == ("a", "b")
    assert plain_names(parse_path('a["b.c"]')) is None
    assert plain_names(parse_path("a[0]")) is None


@pytest.mark.parametrize(
    "pattern, path, expected",
    [
        # Each middle chunk takes its leftmost place: the rightmost `a` would leave no `b` after it.
        ("**.a.**.b.**", "a.b.a", True),
        ("**.a.**.b", "a.b.a.b", True),
        ("a.**.a", "a", False),
        ("a.**.*.**.a", "a.a", False),
        ("a.**.*.**.a", "a.b.a", True),
        ("**", "", True),
        ("", "", True),
        ("*", "", False),
    ],
)
def test_key_glob_places(pattern, path, expected):
    tokens, segments = parse_pattern(pattern), parse_path(path)
    assert match_segments(tokens, segments) is expected
    assert match_key_glob(key_glob(tokens), plain_names(segments)) is expected


# Generated patterns and paths over a few names, so that they often match, and with every kind
# of segment: dotted keys, keyed items, set elements, positions.
PATTERN_PARTS = ["a", "b", "c", "*", "**", '["a.b"]', '["*"]', "[name=a]", "[=b]", "[0]"]
PATH_SEGMENTS = [Key("a"), Key("b"), Key("c"), Key("a.b"), Key("b.c"), Key("*"), Item((("name", "a"),)),
                 Element("b"), Index(0)]
PLAIN_SEGMENTS = [Key("a"), Key("b"), Key("c"), Key("*"), Key("**")]


def join_pattern(parts):
    return ".".join(parts).replace(".[", "[")


patterns_st = st.lists(st.sampled_from(PATTERN_PARTS), max_size=6).map(join_pattern)
garbage_st = st.text(alphabet='ab.*[]="=,0 \\', max_size=10)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.one_of(patterns_st, garbage_st), max_size=6),
    st.lists(st.sampled_from(PATH_SEGMENTS), max_size=6),
)
def test_pattern_list_agrees_with_match_path_on_generated_cases(patterns, segments):
    path = render_path(segments)
    assert PatternList(tuple(patterns)).first_match(path) == first_match_one_by_one(patterns, path)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.sampled_from(["a", "b", "c", "*", "**", '["*"]', '["a.b"]']), max_size=7).map(join_pattern),
    st.lists(st.sampled_from(PLAIN_SEGMENTS), max_size=7),
)
def test_key_glob_agrees_with_match_segments_on_plain_paths(pattern, segments):
    tokens, segments = parse_pattern(pattern), tuple(segments)
    glob, names = key_glob(tokens), plain_names(segments)
    assert glob is not None and names is not None
    assert match_key_glob(glob, names) is match_segments(tokens, segments)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet='ab.*" \\]=,0', max_size=14))
def test_texts_without_brackets_parse_as_the_scan_reads_them(text):
    # Text without `[` is split at dots; an unterminated `[` added at the end makes the parser
    # scan the same text and add one key of its own, which is dropped.
    assert parse_path(text) == parse_path(text + "[")[:-1]
    assert parse_pattern(text) == parse_pattern(text + "[")[:-1]
