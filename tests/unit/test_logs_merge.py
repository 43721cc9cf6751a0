"""parity logs: the pure pieces (sources, line parsing, levels, trace ids, filters, merge, output)
with plain data, and the command with a fake API (streams fed by the test)."""

import argparse
import io
import json
import re
import threading
from datetime import datetime, timezone

import pytest

from parity.cli import kubeclient
from parity.cli import logs as logs_cli
from parity.cli.main import main
from parity.logs.filters import LineFilter, compile_grep, parse_since, parse_trace
from parity.logs.lines import LogLine, detect_level, normalize_trace_id, parse_timestamp, split_kube_line, trace_ids
from parity.logs.merge import ReorderWindow, last_lines, merge_streams
from parity.logs.render import SourceColours, format_json, format_text
from parity.logs.sources import component_of_pod, sources_of_pods, sources_to_follow

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def t(second: int, micro: int = 0) -> datetime:
    return datetime(2026, 12, 3, 1, 2, second, micro, tzinfo=timezone.utc)


def line(second, component="etcd", pod="dev-etcd-0", container="etcd", message="m", micro=0):
    return LogLine(t(second, micro) if second is not None else None, component, pod, container, message)


# ---- lines ---------------------------------------------------------------------------------------


def test_parse_timestamp_nanoseconds_and_offsets():
    assert parse_timestamp("2026-12-03T01:02:03.123456789Z") == t(3, 123456)
    assert parse_timestamp("2026-12-03T03:02:03.5+02:00") == t(3, 500000)
    assert parse_timestamp("2026-12-03T01:02:03Z") == t(3)
    assert parse_timestamp("not-a-time") is None
    assert parse_timestamp("2026-13-03T01:02:03Z") is None


def test_split_kube_line():
    assert split_kube_line("2026-12-03T01:02:03.000000001Z hello world\n") == (t(3), "hello world")
    assert split_kube_line("2026-12-03T01:02:03Z ") == (t(3), "")
    assert split_kube_line("    at frame") == (None, "    at frame")
    assert split_kube_line("") == (None, "")


@pytest.mark.parametrize("message, level", [
    # etcd (zap JSON)
    ('{"level":"warn","ts":"2026-12-03T01:02:03.456Z","msg":"slow fdatasync"}', "warning"),
    ('{"level":"info","msg":"ready to serve client requests"}', "info"),
    ('{"level":"error","msg":"failed to reach the peer"}', "error"),
    ('{"msg":"no level here"}', None),
    # Patroni (Python logging)
    ("2026-12-03 01:02:03,456 INFO: no action. I am (dev-postgres-0), the leader with the lock", "info"),
    ("2026-12-03 01:02:03,456 WARNING: Request failed to dev-postgres-1: GET /patroni", "warning"),
    ("2026-12-03 01:02:03,456 ERROR: Failed to get list of machines from etcd3", "error"),
    # PostgreSQL
    ("2026-12-03 01:02:03.456 UTC [123] LOG:  database system is ready to accept connections", "info"),
    ("2026-12-03 01:02:03.456 UTC [123] ERROR:  relation \"x\" does not exist", "error"),
    ("2026-12-03 01:02:03.456 UTC [123] FATAL:  password authentication failed for user \"app\"", "error"),
    ("2026-12-03 01:02:03.456 UTC [123] WARNING:  there is no transaction in progress", "warning"),
    # Redis and Sentinel
    ("1:M 03 Dec 2026 01:02:03.456 * Ready to accept connections tcp", "info"),
    ("1:M 03 Dec 2026 01:02:03.456 # WARNING Memory overcommit must be enabled!", "warning"),
    ("1:X 03 Dec 2026 01:02:03.456 # +sdown master mymaster 10.0.0.1 6379", "warning"),
    ("1:S 03 Dec 2026 01:02:03.456 - Accepted 10.0.0.2:5000", "debug"),
    # Prometheus / Grafana (logfmt)
    ('ts=2026-12-03T01:02:03.456Z caller=main.go:1 level=error msg="opening storage failed"', "error"),
    ('logger=context t=2026-12-03T01:02:03Z level=warn msg="x"', "warning"),
    ("lvl=eror msg=boom", "error"),
    ("plain text with no level", None),
    ("an error: somewhere in the middle of a sentence", None),
])
def test_detect_level(message, level):
    assert detect_level(message) == level


def test_trace_ids_in_every_form():
    assert trace_ids(f"traceparent: 00-{TRACE}-00f067aa0ba902b7-01 GET /") == {TRACE}
    assert trace_ids(f'{{"trace_id":"{TRACE.upper()}","msg":"x"}}') == {TRACE}
    assert trace_ids(f"level=info traceId={TRACE} span=1") == {TRACE}
    assert trace_ids(f"trace.id: {TRACE}") == {TRACE}
    assert trace_ids("trace_id=1234") == set()
    assert normalize_trace_id(f"00-{TRACE}-00f067aa0ba902b7-01") == TRACE
    assert normalize_trace_id("0" * 32) is None
    assert normalize_trace_id("xyz") is None


# ---- filters ---------------------------------------------------------------------------------------


def test_parse_since():
    assert parse_since("10m") == 600
    assert parse_since("1h30m") == 5400
    assert parse_since("45s") == 45
    for bad in ("", "10", "m", "10q", "0s", "-5m", "1.5h"):
        with pytest.raises(ValueError):
            parse_since(bad)


def test_compile_grep_and_parse_trace_errors():
    assert compile_grep("a|b").search("xbx")
    with pytest.raises(ValueError, match="not a valid regular expression"):
        compile_grep("(")
    with pytest.raises(ValueError):
        parse_trace("abc")


def test_line_filter_combines_grep_level_trace():
    error_with_trace = line(1, message=f'{{"level":"error","trace_id":"{TRACE}","msg":"boom"}}')
    error_without = line(2, message='{"level":"error","msg":"boom"}')
    warning = line(3, message="1:M 03 Dec 2026 01:02:03.456 # low memory")
    info = line(4, message="2026-12-03 01:02:03,456 INFO: fine")
    unknown = line(5, message="what level am I")
    everything = [error_with_trace, error_without, warning, info, unknown]
    assert [x for x in everything if LineFilter().matches(x)] == everything
    assert [x for x in everything if LineFilter(level="error").matches(x)] == [error_with_trace, error_without]
    assert [x for x in everything if LineFilter(level="warning").matches(x)] == [error_with_trace, error_without,
                                                                                   warning]
    assert [x for x in everything if LineFilter(trace=TRACE).matches(x)] == [error_with_trace]
    assert [x for x in everything if LineFilter(grep=re.compile("boom"), level="error").matches(x)] == \
        [error_with_trace, error_without]
    assert [x for x in everything if LineFilter(grep=re.compile("memory|fine")).matches(x)] == [warning, info]


# ---- merge -----------------------------------------------------------------------------------------


def test_merge_streams_in_time_order_stable_and_with_continuations():
    etcd = [line(1, message="e1"), line(4, message="e4")]
    postgres = [line(2, "postgres", "dev-postgres-0", "postgres", "p2"),
                line(None, "postgres", "dev-postgres-0", "postgres", "  continued"),
                line(4, "postgres", "dev-postgres-0", "postgres", "p4")]
    redis = [line(3, "redis", "dev-redis-0", "redis", "r3")]
    merged = list(merge_streams([etcd, postgres, redis]))
    assert [m.message for m in merged] == ["e1", "p2", "  continued", "r3", "e4", "p4"]
    assert merged[2].time == t(2)  # the continuation took the time of the line before it


def test_a_stream_with_stdout_and_stderr_swapped_by_a_hair_is_put_right():
    # One container's log file: stderr's reader stamped a line a microsecond before stdout's
    # line that was written to the file first.
    postgres = [line(2, "postgres", "dev-postgres-0", "postgres", "out", micro=5),
                line(2, "postgres", "dev-postgres-0", "postgres", "err", micro=4),
                line(3, "postgres", "dev-postgres-0", "postgres", "later")]
    etcd = [line(2, message="e", micro=4)]
    merged = list(merge_streams([postgres, etcd]))
    assert [m.message for m in merged] == ["err", "e", "out", "later"]
    assert [m.time for m in merged] == sorted(m.time for m in merged)


def test_last_lines():
    lines = [line(i) for i in range(5)]
    assert last_lines(iter(lines), 2) == lines[3:]
    assert last_lines(iter(lines), None) == lines
    assert last_lines(iter(lines), 0) == []


def test_reorder_window_releases_in_time_order_after_the_window():
    window = ReorderWindow(1.0)
    assert window.push(line(5, message="late in time, first to arrive"), now=100.0) == []
    assert window.push(line(3, message="earlier"), now=100.2) == []
    assert window.push(line(4, message="middle"), now=100.5) == []
    released = window.release(now=101.25)
    # The oldest in time (arrived 100.2) has been held 1s: out it goes. Next in time is "middle",
    # held only 0.75s: it stops the release, so the line of 100.0, newer in time, waits behind it.
    assert [x.message for x in released] == ["earlier"]
    assert [x.message for x in window.release(now=101.5)] == ["middle", "late in time, first to arrive"]
    assert len(window) == 0
    window.push(line(9), now=200.0)
    assert [x.time for x in window.flush()] == [t(9)]


# ---- sources ---------------------------------------------------------------------------------------


def pod(name, component, app, containers=("main",), restarts=0, running=True, deleting=False, last_terminated=False):
    statuses = []
    for c in containers:
        status = {"name": c, "restartCount": restarts, "state": {"running": {}} if running else {"waiting": {}}}
        if last_terminated:
            status["lastState"] = {"terminated": {"exitCode": 1}}
        statuses.append(status)
    metadata = {"name": name, "labels": {"app.kubernetes.io/component": component, "app.kubernetes.io/name": app,
                                         "parity.dev/environment": "dev"}}
    if deleting:
        metadata["deletionTimestamp"] = "2026-12-03T01:00:00Z"
    return {"metadata": metadata, "spec": {"containers": [{"name": c} for c in containers]},
            "status": {"containerStatuses": statuses}}


PODS = [
    pod("dev-redis-0", "redis", "redis", ("redis", "exporter")),
    pod("dev-sentinel-0", "redis", "sentinel", ("sentinel",)),
    pod("dev-postgres-0", "postgres", "postgres", ("postgres",), restarts=2),
    pod("dev-etcd-0", "etcd", "etcd", ("etcd",)),
    pod("dev-prometheus-abc", "observability", "prometheus", ("prometheus",)),
    pod("dev-etcd-1", "etcd", "etcd", ("etcd",), deleting=True),
]


def test_sources_of_pods_components_and_order():
    assert component_of_pod(PODS[1]) == "sentinel"
    labels = [s.label for s in sources_of_pods(PODS)]
    assert labels == ["etcd/dev-etcd-0/etcd", "postgres/dev-postgres-0/postgres", "redis/dev-redis-0/exporter",
                      "redis/dev-redis-0/redis", "sentinel/dev-sentinel-0/sentinel",
                      "observability/dev-prometheus-abc/prometheus"]
    assert [s.label for s in sources_of_pods(PODS, ["sentinel", "etcd"])] == ["etcd/dev-etcd-0/etcd",
                                                                              "sentinel/dev-sentinel-0/sentinel"]
    assert [s.label for s in sources_of_pods(PODS, previous=True)] == ["postgres/dev-postgres-0/postgres"]


def test_sources_to_follow_picks_new_and_restarted():
    current = sources_of_pods(PODS + [pod("dev-redis-1", "redis", "redis", ("redis",), running=False)])
    following = {s.key for s in current if s.pod != "dev-postgres-0"}
    assert [s.key for s in sources_to_follow(current, following)] == [("dev-postgres-0", "postgres")]
    # A container that is not running (waiting to start) is not opened until it runs.
    assert ("dev-redis-1", "redis") not in {s.key for s in sources_to_follow(current, set())}


# ---- output ----------------------------------------------------------------------------------------


def test_format_text_and_json():
    x = line(3, micro=123456, message="hello")
    assert format_text(x, width=24) == "2026-12-03T01:02:03.123Z etcd/dev-etcd-0/etcd      hello"
    colours = SourceColours()
    coloured = format_text(x, colours=colours)
    assert coloured.startswith("2026-12-03T01:02:03.123Z \033[36metcd/dev-etcd-0/etcd\033[0m")
    other = format_text(line(3, "redis", "dev-redis-0", "redis"), colours=colours)
    assert "\033[33mredis/dev-redis-0/redis" in other  # a second source, a second colour
    assert json.loads(format_json(line(3, message='{"level":"warn"}'))) == {
        "time": "2026-12-03T01:02:03.000000Z", "component": "etcd", "pod": "dev-etcd-0", "container": "etcd",
        "level": "warning", "message": '{"level":"warn"}'}
    # The strings sort like the times: a whole second is not shorter than the next microsecond.
    stamps = [json.loads(format_json(line(3, micro=m)))["time"] for m in (0, 5, 999999)]
    assert stamps == sorted(stamps) and len(set(map(len, stamps))) == 1


# ---- the command with a fake API ---------------------------------------------------------------------


STREAMS = {
    ("dev-etcd-0", "etcd"): ['2026-12-03T01:02:01.000000000Z {"level":"info","msg":"etcd up"}',
                             f'2026-12-03T01:02:05.000000000Z {{"level":"warn","msg":"slow","trace_id":"{TRACE}"}}'],
    ("dev-postgres-0", "postgres"): ["2026-12-03T01:02:02.000000000Z 2026-12-03 01:02:02,000 INFO: leader",
                                     "2026-12-03T01:02:06.000000000Z 2026-12-03 01:02:06 UTC [1] ERROR:  boom"],
    ("dev-redis-0", "redis"): ["2026-12-03T01:02:03.000000000Z 1:M 03 Dec 2026 01:02:03.000 * Ready"],
    ("dev-redis-0", "exporter"): ["2026-12-03T01:02:04.000000000Z level=info msg=listening"],
    ("dev-sentinel-0", "sentinel"): ["2026-12-03T01:02:07.000000000Z 1:X 03 Dec 2026 01:02:07.000 # +sdown"],
}


class FakeKube:
    host = "https://fake:6443"

    def __init__(self, pods, env_exists=True):
        self.pods = pods
        self.env_exists = env_exists
        self.closed = False

    def get(self, path):
        assert "/parityenvironments/dev" in path
        return {"kind": "ParityEnvironment"} if self.env_exists else None

    def request(self, method, path, query=None):
        assert query == [("labelSelector", "parity.dev/environment=dev")]
        return {"items": self.pods}

    def close(self):
        self.closed = True


@pytest.fixture
def api(monkeypatch):
    """The fake API: pods, streams, and what was asked of the log endpoint."""
    from parity.kube import podlogs
    from parity.kube.client import KubeError

    state = {"pods": PODS[:5], "env": True, "requests": [], "broken": set()}

    def fake_stream(kube, namespace, pod_name, container, request, **kwargs):
        state["requests"].append((pod_name, container, request))
        if (pod_name, container) in state["broken"]:
            raise KubeError(400, "BadRequest", f'container "{container}" in pod "{pod_name}" is waiting to start')
        lines = STREAMS.get((pod_name, container), [])
        if request.tail_lines is not None:
            lines = lines[-request.tail_lines:] if request.tail_lines else []
        return iter(lines)

    monkeypatch.setattr(podlogs, "stream_pod_log", fake_stream)
    monkeypatch.setattr(kubeclient, "connect", lambda context: FakeKube(state["pods"], state["env"]))
    return state


def run(capsys, *argv):
    code = main(["logs", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_merged_in_time_order_with_prefixes(api, capsys):
    code, out, err = run(capsys, "-n", "team", "dev")
    assert code == 0, err
    lines = out.splitlines()
    assert [ln.split()[1] for ln in lines] == [
        "etcd/dev-etcd-0/etcd", "postgres/dev-postgres-0/postgres", "redis/dev-redis-0/redis",
        "redis/dev-redis-0/exporter", "etcd/dev-etcd-0/etcd", "postgres/dev-postgres-0/postgres",
        "sentinel/dev-sentinel-0/sentinel"]
    assert lines[0].startswith("2026-12-03T01:02:01.000Z etcd/dev-etcd-0/etcd")
    assert "\033[" not in out  # not a terminal
    assert all(r[2].tail_lines is None and r[2].follow is False for r in api["requests"])


def test_component_grep_level_trace(api, capsys):
    code, out, _ = run(capsys, "-n", "team", "dev", "--component", "etcd,postgres")
    assert {ln.split()[1].split("/")[0] for ln in out.splitlines()} == {"etcd", "postgres"}
    assert {r[0] for r in api["requests"]} == {"dev-etcd-0", "dev-postgres-0"}
    code, out, _ = run(capsys, "-n", "team", "dev", "--grep", "Ready|listening")
    assert [ln.split()[1] for ln in out.splitlines()] == ["redis/dev-redis-0/redis", "redis/dev-redis-0/exporter"]
    code, out, _ = run(capsys, "-n", "team", "dev", "--level", "warning")
    assert [ln.split()[1] for ln in out.splitlines()] == [
        "etcd/dev-etcd-0/etcd", "postgres/dev-postgres-0/postgres", "sentinel/dev-sentinel-0/sentinel"]
    code, out, _ = run(capsys, "-n", "team", "dev", "--level", "error")
    assert out.count("\n") == 1 and "ERROR:  boom" in out
    code, out, _ = run(capsys, "-n", "team", "dev", "--trace", f"00-{TRACE}-00f067aa0ba902b7-01")
    assert out.count("\n") == 1 and '"msg":"slow"' in out


def test_since_tail_previous_reach_the_api(api, capsys):
    code, out, _ = run(capsys, "-n", "team", "dev", "--since", "10m", "--tail", "2")
    assert code == 0
    assert {(r[2].since_seconds, r[2].tail_lines) for r in api["requests"]} == {(600, 2)}
    assert len(out.splitlines()) == 2  # the last 2 of the merged lines
    assert out.splitlines()[-1].split()[1] == "sentinel/dev-sentinel-0/sentinel"
    api["requests"].clear()
    api["pods"] = PODS[:5]
    api["pods"][2] = pod("dev-postgres-0", "postgres", "postgres", ("postgres",), restarts=1)
    code, out, err = run(capsys, "-n", "team", "dev", "--previous")
    assert code == 0, err
    assert [(r[0], r[2].previous) for r in api["requests"]] == [("dev-postgres-0", True)]


def test_previous_without_restarts_says_so(api, capsys):
    api["pods"] = [pod("dev-etcd-0", "etcd", "etcd", ("etcd",))]
    code, out, err = run(capsys, "-n", "team", "dev", "--previous")
    assert code == 0 and out == ""
    assert "has no restarted containers" in err


def test_json_output(api, capsys):
    code, out, _ = run(capsys, "-n", "team", "dev", "-o", "json", "--component", "redis")
    items = [json.loads(x) for x in out.splitlines()]
    assert [(i["pod"], i["container"]) for i in items] == [("dev-redis-0", "redis"), ("dev-redis-0", "exporter")]
    assert items[0] == {"time": "2026-12-03T01:02:03.000000Z", "component": "redis", "pod": "dev-redis-0",
                        "container": "redis", "level": "info",
                        "message": "1:M 03 Dec 2026 01:02:03.000 * Ready"}


def test_unreadable_container_reported_once_not_fatal(api, capsys):
    api["broken"] = {("dev-redis-0", "redis")}
    code, out, err = run(capsys, "-n", "team", "dev")
    assert code == 0
    assert err.count("cannot read redis/dev-redis-0/redis") == 1
    assert "waiting to start" in err
    assert "redis/dev-redis-0/redis" not in out and "etcd/dev-etcd-0/etcd" in out


def test_nothing_readable_fails(api, capsys):
    api["broken"] = set(STREAMS) | {("dev-prometheus-abc", "prometheus")}
    code, out, err = run(capsys, "-n", "team", "dev")
    assert code == 1 and out == ""
    assert err.count("parity: logs: cannot read ") == 6
    assert err.strip().splitlines()[-1] == \
        "parity: ParityEnvironment team/dev: none of its 6 containers could be read (see above)"


def test_missing_environment_one_line_exit_one(api, capsys):
    api["env"] = False
    code, out, err = run(capsys, "-n", "team", "dev")
    assert code == 1 and out == ""
    assert err.strip().splitlines() == [
        "parity: ParityEnvironment team/dev not found at https://fake:6443 (kubectl get penv -n team)"]


@pytest.mark.parametrize("argv, message", [
    (["--component", "mysql"], "parity: --component: 'mysql' is not one of etcd, postgres, redis, sentinel, observability"),
    (["--grep", "(unclosed"], "parity: --grep: '(unclosed' is not a valid regular expression"),
    (["--level", "debug"], "parity: --level: 'debug' is not one of error, warning"),
    (["--trace", "nope"], "parity: --trace: 'nope' is not a W3C trace id"),
    (["--since", "ten minutes"], "parity: --since: 'ten minutes' is not a duration"),
    (["--tail", "-3"], "parity: --tail: '-3' is not a whole number"),
    (["-o", "yaml"], "parity: --output: 'yaml' is not one of text, json"),
    (["--follow", "--previous"], "parity: --previous reads containers that have ended"),
])
def test_bad_input_one_line_exit_one(api, capsys, argv, message):
    code, out, err = run(capsys, "-n", "team", "dev", *argv)
    assert code == 1 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message), err
    assert api["requests"] == []


def test_colour_per_source_on_a_terminal(api, monkeypatch):
    class Tty(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    out, err = Tty(), io.StringIO()
    args = argparse.Namespace(name="dev", namespace="team", context=None, component=["etcd", "redis"], grep=None,
                              level=None, trace=None, since=None, tail=None, follow=False, previous=False,
                              concurrency=2, output="text")
    assert logs_cli.run_logs(args, out=out, err=err) == 0
    text = out.getvalue()
    assert "\033[36metcd/dev-etcd-0/etcd" in text and "\033[33mredis/dev-redis-0/redis" in text


@pytest.mark.timeout(120)
def test_follow_merges_and_picks_up_new_pods_and_restarts(monkeypatch):
    """Streams fed by the test: a new pod and a restarted container (a second stream of the same
    container, opened with sinceTime; its repeat of the first second is dropped)."""
    monkeypatch.setattr(logs_cli, "FOLLOW_WINDOW_SECONDS", 0.05)
    monkeypatch.setattr(logs_cli, "FOLLOW_RELIST_SECONDS", 0.05)
    pods = [pod("dev-etcd-0", "etcd", "etcd", ("etcd",))]
    opened = []
    feeds = {}
    ended = threading.Event()

    def open_stream(source, *, follow, since_time=None):
        assert follow is True
        opened.append((source.key, since_time))
        if source.key == ("dev-etcd-0", "etcd") and since_time is None:
            ended.set()  # the first instance ends (the container restarted)
            return iter(["2026-12-03T01:02:01.000Z first instance", "2026-12-03T01:02:02.000Z last words"])
        if source.key == ("dev-etcd-0", "etcd"):
            return iter(["2026-12-03T01:02:02.000Z last words", "2026-12-03T01:02:04.000Z second instance"])
        feeds[source.key] = True
        return iter(["2026-12-03T01:02:03.000Z new pod says hi"])

    def list_sources():
        if ended.is_set() and len(pods) == 1:
            pods.append(pod("dev-redis-0", "redis", "redis", ("redis",)))
        return sources_of_pods(pods)

    out = io.StringIO()
    options = logs_cli.parse_options(argparse.Namespace(
        name="dev", namespace="team", component=[], grep=None, level=None, trace=None, since=None, tail=None,
        follow=True, previous=False, concurrency=2, output="text"))
    printer = logs_cli.Printer(options, out, 0)
    began = datetime(2026, 12, 3, 1, 2, 0, 500000, tzinfo=timezone.utc)
    follower = logs_cli.Follower(list_sources, open_stream, options, printer, logs_cli.Problems(io.StringIO()),
                                 wall_clock=lambda: began)
    follower.run(sources_of_pods(pods), until=lambda: out.getvalue().count("\n") >= 4)
    messages = [ln.split("  ", 1)[1] for ln in out.getvalue().splitlines()]
    assert sorted(messages) == sorted(["first instance", "last words", "new pod says hi", "second instance"])
    assert messages.count("last words") == 1
    assert (("dev-etcd-0", "etcd"), "2026-12-03T01:02:02Z") in opened
    assert ("dev-redis-0", "redis") in feeds
    # The first stream honours --tail; the new pod's reads from when following began, so lines it
    # wrote before the relist found it are not cut off.
    assert opened[0] == (("dev-etcd-0", "etcd"), None)
    assert (("dev-redis-0", "redis"), "2026-12-03T01:02:00Z") in opened
