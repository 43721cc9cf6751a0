"""The pure parts of the probes: normalisation of what servers report, summaries, problems,
endpoint resolution. Plain data in, plain data out."""

from __future__ import annotations

import base64

import pytest

from parity.api import parse_environment
from parity.constants import REDACTED
from parity.drift.normalize import equivalent_at
from parity.probes.endpoints import (
    ENDPOINTS_ENV,
    ENDPOINTS_FILE_ENV,
    Credentials,
    EndpointError,
    build_service_endpoints,
    credentials_from_secret,
    load_endpoint_map,
    parse_endpoint_map,
    postgres_conninfo,
    resolve_endpoints,
)
from parity.probes.etcd import summarize_etcd
from parity.probes.patroni import find_problems, patroni_values, summarize_members
from parity.probes.postgres import normalize_settings_rows, settings_query
from parity.probes.redis import NodeReading, SentinelReading, summarize_redis
from parity.probes.support import describe_conninfo, split_host_port
from parity.probes.units import normalize_pg_setting, normalize_redis_value

# ---- normalisation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "setting", "unit", "vartype", "spec"),
    [
        ("work_mem", "65536", "kB", "integer", "64MB"),
        ("shared_buffers", "16384", "8kB", "integer", "128MB"),
        ("checkpoint_timeout", "300", "s", "integer", "5min"),
        ("statement_timeout", "0", "ms", "integer", "0"),
        ("log_min_duration_statement", "-1", "ms", "integer", "-1"),
        ("max_wal_size", "1024", "MB", "integer", "1GB"),
        ("hot_standby", "on", None, "bool", "true"),
        ("max_connections", "100", None, "integer", "100"),
        ("random_page_cost", "1.1", None, "real", "1.1"),
        ("wal_level", "replica", None, "enum", "replica"),
    ],
)
def test_pg_settings_compare_by_meaning_with_the_spec(name, setting, unit, vartype, spec):
    value = normalize_pg_setting(setting, unit, vartype)
    assert equivalent_at(f"postgres.parameters.{name}", value, spec)


def test_pg_settings_that_differ_do_not_compare_equal():
    assert not equivalent_at("postgres.parameters.work_mem", normalize_pg_setting("65536", "kB", "integer"), "32MB")
    assert not equivalent_at("postgres.parameters.hot_standby", normalize_pg_setting("off", None, "bool"), "on")


def test_pg_value_types():
    assert normalize_pg_setting("on", None, "bool") is True
    assert normalize_pg_setting("off", None, "bool") is False
    assert normalize_pg_setting("50", None, "integer") == 50
    assert normalize_pg_setting("0.5", None, "real") == 0.5
    assert normalize_pg_setting(None, None, "integer") is None


def test_redis_values():
    assert normalize_redis_value("yes") is True
    assert normalize_redis_value("no") is False
    assert normalize_redis_value("67108864") == 67108864
    assert normalize_redis_value("allkeys-lru") == "allkeys-lru"
    assert normalize_redis_value("3600 1 300 100") == "3600 1 300 100"


def test_settings_rows_redact_connection_strings_and_collect_pending_restart():
    rows = [
        ("primary_conninfo", "host=a password=hunter2", None, "string", "configuration file", False),
        ("password_encryption", "scram-sha-256", None, "enum", "configuration file", False),
        ("max_connections", "50", None, "integer", "command line", True),
    ]
    values, raw, pending = normalize_settings_rows(rows)
    assert values["primary_conninfo"] == REDACTED and raw["primary_conninfo"]["setting"] == REDACTED
    assert "hunter2" not in repr((values, raw))
    assert values["password_encryption"] == "scram-sha-256"
    assert pending == ("max_connections",)
    assert raw["max_connections"] == {"setting": "50", "unit": None, "source": "command line", "pendingRestart": True}


def test_values_come_back_under_the_spelling_asked_for():
    rows = [("DateStyle", "ISO, MDY", None, "string", "configuration file", False)]
    values, raw, _ = normalize_settings_rows(rows, {"datestyle": "datestyle"})
    assert values == {"datestyle": "ISO, MDY"} and set(raw) == {"datestyle"}
    values, _, _ = normalize_settings_rows(rows)
    assert values == {"DateStyle": "ISO, MDY"}


def test_settings_query_asks_for_named_parameters_or_configured_ones():
    query, params = settings_query({"work_mem", "max_connections", "DateStyle"})
    assert "lower(name) = ANY" in query and params == (["datestyle", "max_connections", "work_mem"],)
    query, params = settings_query(None)
    assert "source <> ALL" in query and set(params[0]) == {"default", "override", "client", "session"}


# ---- Patroni --------------------------------------------------------------------------------


def test_patroni_values_fill_in_patroni_defaults():
    values = patroni_values({"ttl": 20, "synchronous_mode": "on"})
    assert values == {
        "postgres.patroni.ttl": 20,
        "postgres.patroni.loopWait": 10,
        "postgres.patroni.retryTimeout": 10,
        "postgres.patroni.maximumLagOnFailover": 1048576,
        "postgres.patroni.synchronousMode": True,
        "postgres.patroni.failsafeMode": False,
    }


CLUSTER = {
    "members": [
        {"name": "a", "role": "leader", "state": "running", "host": "h1", "port": 5432, "api_url": "http://h1:8008/patroni", "timeline": 4},
        {"name": "b", "role": "sync_standby", "state": "streaming", "host": "h2", "port": 5432, "api_url": "http://h2:8008/patroni", "timeline": 4, "lag": 0},
        {"name": "c", "role": "replica", "state": "running", "host": "h3", "port": 5432, "api_url": "http://h3:8008/patroni", "timeline": 3, "lag": 5_000_000},
    ]
}


def test_members_summary_and_problems():
    members = summarize_members(CLUSTER, {"a": {"server_version": 150020}, "b": {"sync_standby": True}, "c": "ConnectError: refused"})
    assert [(m["name"], m["role"], m["lagBytes"], m["restApi"]) for m in members] == [
        ("a", "leader", None, "ok"),
        ("b", "sync_standby", 0, "ok"),
        ("c", "replica", 5_000_000, "unreachable"),
    ]
    messages = [(p["severity"], p["message"]) for p in find_problems(CLUSTER, {"synchronous_mode": True}, members, None)]
    assert ("warning", "member c lags 5000000 bytes, more than maximum_lag_on_failover=1048576: it cannot be promoted") in messages
    assert ("warning", "member c is on timeline 3, the leader on 4") in messages
    assert ("warning", "member c: REST API unreachable (ConnectError: refused)") in messages
    assert not any(s == "critical" for s, _ in messages)


def test_no_leader_and_no_sync_standby_are_critical():
    cluster = {"members": [{"name": "b", "role": "replica", "state": "stopped"}]}
    members = summarize_members(cluster, {})
    problems = find_problems(cluster, {"synchronous_mode": True}, members, "h:5432/postgres: refused")
    assert ("critical", "no leader: the cluster has no writable primary") in [(p["severity"], p["message"]) for p in problems]
    assert ("critical", "member b is stopped") in [(p["severity"], p["message"]) for p in problems]
    assert any(p["message"].startswith("PostgreSQL not read: h:5432") for p in problems)

    with_leader = {"members": CLUSTER["members"][:1] + [{"name": "x", "role": "replica", "state": "running", "lag": 0}]}
    problems = find_problems(with_leader, {"synchronous_mode": True}, summarize_members(with_leader, {}), None)
    assert [p["message"] for p in problems if p["severity"] == "critical"] == ["synchronous_mode is on but no member is a synchronous standby"]


# ---- Redis ----------------------------------------------------------------------------------


def node(address, role, **replication):
    return NodeReading(address, role=role, version="7.2.4", replication=replication, config={"maxmemory-policy": "noeviction"})


def sentinel(address, primary, quorum=2, others=2):
    master = {
        "quorum": str(quorum),
        "num-other-sentinels": str(others),
        "num-slaves": "2",
        "flags": "master",
        "down-after-milliseconds": "5000",
    }
    return SentinelReading(address, primary=primary, master=master)


def test_redis_summary_when_all_agree():
    nodes = [
        node("p:6379", "master", master_repl_offset=1000, connected_slaves=2, slave0={"ip": "r1", "port": 6379, "state": "online", "offset": 900, "lag": 1}),
        node("r1:6379", "replica", slave_repl_offset=900, master_host="p", master_port=6379, master_link_status="up"),
        node("r2:6379", "replica", slave_repl_offset=1000, master_host="p", master_port=6379, master_link_status="up"),
    ]
    values, details = summarize_redis(nodes, [sentinel("s1:26379", "p:6379"), sentinel("s2:26379", "p:6379")], ["maxmemory-policy"])
    assert values == {
        "redis.replicas": 3,
        "redis.version": "7.2.4",
        "redis.config.maxmemory-policy": "noeviction",
        "redis.sentinel.quorum": 2,
        "redis.sentinel.downAfterMilliseconds": 5000,
        "redis.sentinel.replicas": 3,
    }
    assert details["primary"] == "p:6379" and details["problems"] == []
    rows = {r["address"]: r for r in details["nodes"]}
    assert (rows["r1:6379"]["lagBytes"], rows["r1:6379"]["lagSeconds"]) == (100, 1)
    assert rows["r2:6379"]["lagBytes"] == 0


def test_redis_summary_flags_sentinel_disagreement_and_two_primaries():
    nodes = [
        node("p:6379", "master", master_repl_offset=10, connected_slaves=0),
        node("q:6379", "master", master_repl_offset=10, connected_slaves=0),
    ]
    values, details = summarize_redis(nodes, [sentinel("s1:26379", "p:6379"), sentinel("s2:26379", "p:6379"), sentinel("s3:26379", "q:6379")], [])
    assert values["redis.sentinel.primaryAgreement"] is False
    assert details["primary"] == "p:6379"
    assert details["disagreement"] == {"p:6379": ["s1:26379", "s2:26379"], "q:6379": ["s3:26379"]}
    critical = [p["message"] for p in details["problems"] if p["severity"] == "critical"]
    assert any("Sentinels disagree" in m for m in critical)
    assert "more than one node reports role master: p:6379, q:6379" in critical


def test_redis_summary_flags_sentinels_naming_a_replica():
    nodes = [
        node("p:6379", "master", master_repl_offset=10, connected_slaves=1),
        node("r:6379", "replica", slave_repl_offset=10, master_host="p", master_port=6379, master_link_status="up"),
    ]
    values, details = summarize_redis(nodes, [sentinel("s1:26379", "r:6379")], [])
    assert values["redis.sentinel.primaryAgreement"] is False
    assert "Sentinels name r:6379 as primary but it reports role replica" in [p["message"] for p in details["problems"]]


# ---- etcd -----------------------------------------------------------------------------------


def test_etcd_summary_names_leader_and_quorum_loss():
    members = [{"ID": str(i + 1), "name": f"e{i}", "clientURLs": [f"http://e{i}:2379"]} for i in range(3)]
    reading = {
        "url": "http://e0:2379",
        "version": {"etcdserver": "3.5.17", "etcdcluster": "3.5.0"},
        "status": {"header": {"member_id": "1"}, "leader": "1", "version": "3.5.17", "dbSize": "4096", "raftTerm": "2"},
        "health": {"health": "true"},
    }
    down = [{"url": f"http://e{i}:2379", "error": "refused"} for i in (1, 2)]
    values, details = summarize_etcd(members, [reading, *down])
    assert values == {"etcd.replicas": 3, "etcd.version": "3.5.17"}
    assert details["leader"] == "e0"
    assert [m["isLeader"] for m in details["members"]] == [True, False, False]
    assert details["members"][1]["error"] == "refused"
    assert "only 1 of 3 voting members healthy: no quorum" in [p["message"] for p in details["problems"] if p["severity"] == "critical"]


# ---- addresses and endpoints ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("h:1", ("h", 1)), ("h", ("h", 6379)), ("redis://u:p@h:2/0", ("h", 2)), ("[::1]:7", ("::1", 7))],
)
def test_split_host_port(text, expected):
    assert split_host_port(text, 6379) == expected


def test_describe_conninfo_never_shows_the_password():
    text = describe_conninfo("host=db port=5433 user=u password=hunter2 dbname=app")
    assert text == "db:5433/app" and "hunter2" not in text


def test_cluster_endpoints_follow_the_renderers_names():
    spec = parse_environment({"etcd": {"replicas": 3}, "postgres": {"replicas": 2}, "redis": {"replicas": 2}})
    endpoints = build_service_endpoints("dev", "team", spec)
    assert endpoints.etcd[0] == "http://dev-etcd-0.dev-etcd-peer.team.svc:2379" and len(endpoints.etcd) == 3
    assert endpoints.patroni == ("http://dev-postgres-0.dev-postgres.team.svc:8008", "http://dev-postgres-1.dev-postgres.team.svc:8008")
    assert endpoints.postgres == "host=dev-postgres-primary.team.svc port=5432 dbname=postgres"
    assert endpoints.redis == ("dev-redis-0.dev-redis-headless.team.svc:6379", "dev-redis-1.dev-redis-headless.team.svc:6379")
    assert endpoints.sentinel[0] == "dev-sentinel-0.dev-sentinel-headless.team.svc:26379"
    assert endpoints.master_group_name == "mymaster"


def test_overrides_come_from_the_process_map_for_that_environment_only():
    spec = parse_environment({})
    endpoint_map = load_endpoint_map(
        {ENDPOINTS_ENV: '{"team/dev": {"patroni": "http://127.0.0.1:8008", "masterGroupName": "g", '
                        '"redis": ["127.0.0.1:6379"]}, "team/other": {"etcd": ["http://x:2379"]}}'})
    endpoints = resolve_endpoints("dev", "team", spec, endpoint_map)
    assert endpoints.patroni == ("http://127.0.0.1:8008",)
    assert endpoints.redis == ("127.0.0.1:6379",)
    assert endpoints.master_group_name == "g"
    assert endpoints.etcd[0].startswith("http://dev-etcd-0.")
    assert resolve_endpoints("dev", "elsewhere", spec, endpoint_map) == build_service_endpoints("dev", "elsewhere", spec)


def test_endpoint_map_from_a_file(tmp_path):
    path = tmp_path / "endpoints.json"
    path.write_text('{"team/dev": {"etcd": "http://127.0.0.1:2379"}}')
    assert load_endpoint_map({ENDPOINTS_FILE_ENV: str(path)}) == {"team/dev": {"etcd": ["http://127.0.0.1:2379"]}}
    assert load_endpoint_map({}) == {}
    with pytest.raises(EndpointError, match=f"^{tmp_path}/missing.json \\({ENDPOINTS_FILE_ENV}\\): cannot read"):
        load_endpoint_map({ENDPOINTS_FILE_ENV: str(tmp_path / "missing.json")})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{nope", "not valid JSON"),
        ('["team/dev"]', 'must be a JSON object mapping "<namespace>/<name>"'),
        ('{"dev": {}}', "key 'dev': must be \"<namespace>/<name>\""),
        ('{"team/dev": {"etcdd": []}}', "team/dev: unknown key(s) etcdd"),
        ('{"team/dev": {"redis": [1]}}', "team/dev: redis: must be a list of endpoint strings"),
        ('{"team/dev": {"postgres": "host=x password=y"}}', "team/dev: postgres: must not contain a password"),
    ],
)
def test_bad_overrides_name_the_source_key_and_field(text, message):
    with pytest.raises(EndpointError) as err:
        parse_endpoint_map(text, f"environment variable {ENDPOINTS_ENV}")
    assert str(err.value).startswith(f"environment variable {ENDPOINTS_ENV}: ")
    assert message in str(err.value)


def test_credentials_from_secret_stay_out_of_repr():
    secret = {"superuser-username": base64.b64encode(b"admin").decode(), "superuser-password": base64.b64encode(b"s3cret").decode()}
    credentials = credentials_from_secret(secret)
    assert credentials == Credentials(postgres_user="admin", postgres_password="s3cret")
    assert "s3cret" not in repr(credentials)
    endpoints = build_service_endpoints("dev", "team", parse_environment({}))
    dsn = postgres_conninfo(endpoints, credentials)
    assert "password=s3cret" in dsn and "user=admin" in dsn and "host=dev-postgres-primary.team.svc" in dsn
