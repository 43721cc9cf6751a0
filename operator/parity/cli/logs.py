"""`parity logs`: the logs of every container of every pod of an environment, merged in time order.

    parity logs -n NAMESPACE NAME [--component C]... [--grep REGEX] [--level error|warning]
                [--since 10m] [--tail N] [--follow] [--previous] [--trace ID] [-o text|json]

Reads the pod log API (timestamps=true) with at most --concurrency requests at a time (--follow
keeps one stream per container open, as `kubectl logs -f` does). Each line is prefixed with
component/pod/container, coloured per source on a terminal. A container that cannot be read is
reported once on stderr and the others are still shown; when none can be read the command
fails. While following, new pods and restarted containers are picked up.

Exit codes: 0 shown (possibly nothing, when nothing matched); 1 bad input (unknown component,
invalid regex, trace id or duration, missing environment), an unreachable cluster, or no
container could be read.
"""

from __future__ import annotations

import argparse
import queue
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Iterable, Iterator, TextIO

from parity import constants
from parity.cli.errors import EXIT_OK, CliError
from parity.drift.report.text import use_color
from parity.logs.filters import FILTER_LEVELS, LineFilter, compile_grep, parse_level, parse_since, parse_trace
from parity.logs.lines import LogLine, split_kube_line
from parity.logs.merge import ReorderWindow, last_lines, merge_streams, stamp_continuations
from parity.logs.render import SourceColours, format_json, format_text
from parity.logs.sources import LOG_COMPONENTS, LogSource, sources_of_pods, sources_to_follow

OUTPUTS = ("text", "json")
DEFAULT_CONCURRENCY = 6
MAX_FOLLOWED_STREAMS = 100
FOLLOW_WINDOW_SECONDS = 1.0
FOLLOW_RELIST_SECONDS = 3.0


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "logs",
        help="the logs of every container of an environment, merged in time order",
        description=(
            "Read the logs of every container of every pod of a ParityEnvironment through the pod log API and "
            "print them merged in time order, each line prefixed with component/pod/container. A container "
            "that cannot be read is reported once on stderr; the others are still shown."
        ),
    )
    parser.add_argument("name", metavar="NAME", help="the ParityEnvironment")
    parser.add_argument("-n", "--namespace", metavar="NAMESPACE", default="default",
                        help="its namespace (default: default)")
    parser.add_argument("--context", metavar="CONTEXT", help="kubeconfig context")
    parser.add_argument("--component", "-c", action="append", default=[], metavar="{" + ",".join(LOG_COMPONENTS) + "}",
                        help="only these components (repeat, or separate with commas)")
    parser.add_argument("--grep", metavar="REGEX", help="only lines matching this regular expression (Python syntax)")
    parser.add_argument("--level", metavar="{" + ",".join(FILTER_LEVELS) + "}",
                        help="only lines at this level or above, in the formats etcd, Patroni, PostgreSQL, "
                             "Redis/Sentinel and Prometheus/Grafana log in (lines without a level are left out)")
    parser.add_argument("--trace", metavar="ID", help="only lines carrying this W3C trace id (traceparent, "
                                                      "trace_id=, traceId, trace.id)")
    parser.add_argument("--since", metavar="DURATION", help="only lines newer than this (10m, 1h30m, 45s)")
    parser.add_argument("--tail", metavar="N", help="the last N lines (each container is asked for its last N; "
                                                    "filters apply to those)")
    parser.add_argument("--follow", "-f", action="store_true",
                        help="keep streaming; new pods and restarted containers are picked up")
    parser.add_argument("--previous", "-p", action="store_true",
                        help="the previous instance of each container that restarted")
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY, metavar="N",
                        help="log requests at a time (default: %(default)s)")
    parser.add_argument("-o", "--output", default="text", metavar="{text,json}",
                        help="text (default) or json (one object per line: time, component, pod, container, "
                             "level, message)")
    parser.set_defaults(func=run_logs)


# ---- arguments --------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogOptions:
    namespace: str
    name: str
    components: tuple[str, ...] | None
    line_filter: LineFilter
    since_seconds: int | None
    tail: int | None
    follow: bool
    previous: bool
    concurrency: int
    output: str


def parse_options(args: argparse.Namespace) -> LogOptions:
    """The arguments checked, each bad one a CliError naming the option."""
    components: list[str] = []
    for value in args.component:
        for word in (w.strip() for w in value.split(",")):
            if word not in LOG_COMPONENTS:
                raise CliError(f"--component: {word!r} is not one of {', '.join(LOG_COMPONENTS)}")
            if word not in components:
                components.append(word)

    def checked(option: str, parse: Callable, value):
        if value is None:
            return None
        try:
            return parse(value)
        except ValueError as err:
            raise CliError(f"{option}: {err}") from None

    tail = None
    if args.tail is not None:
        try:
            tail = int(args.tail)
        except ValueError:
            tail = -1
        if tail < 0:
            raise CliError(f"--tail: {args.tail!r} is not a whole number of lines (0 or more)")
    if args.output not in OUTPUTS:
        raise CliError(f"--output: {args.output!r} is not one of {', '.join(OUTPUTS)}")
    if args.concurrency < 1:
        raise CliError(f"--concurrency: must be at least 1, not {args.concurrency}")
    if args.follow and args.previous:
        raise CliError("--previous reads containers that have ended: it cannot be combined with --follow")
    return LogOptions(
        namespace=args.namespace,
        name=args.name,
        components=tuple(components) or None,
        line_filter=LineFilter(grep=checked("--grep", compile_grep, args.grep),
                               level=checked("--level", parse_level, args.level),
                               trace=checked("--trace", parse_trace, args.trace)),
        since_seconds=checked("--since", parse_since, args.since),
        tail=tail,
        follow=args.follow,
        previous=args.previous,
        concurrency=args.concurrency,
        output=args.output,
    )


# ---- printing ---------------------------------------------------------------------------------


class Printer:
    def __init__(self, options: LogOptions, out: TextIO, width: int):
        self.json = options.output == "json"
        self.out = out
        self.width = width
        self.colours = SourceColours() if not self.json and use_color(out) else None

    def write(self, lines: Iterable[LogLine]) -> None:
        for line in lines:
            text = format_json(line) if self.json else format_text(line, width=self.width, colours=self.colours)
            self.out.write(text + "\n")
        self.out.flush()


class Problems:
    """Each container that cannot be read, reported once on stderr."""

    def __init__(self, err: TextIO):
        self.err = err
        self.seen: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def report(self, source: LogSource, message: str) -> None:
        with self._lock:
            if source.key in self.seen:
                return
            self.seen[source.key] = message
        print(f"parity: logs: cannot read {source.label}: {message}", file=self.err, flush=True)


# ---- reading ----------------------------------------------------------------------------------

# (source, LogRequest-like options) -> the raw lines of that container's log
StreamOpener = Callable[..., Iterator[str]]


def parse_stream(source: LogSource, raw: Iterable[str]) -> Iterator[LogLine]:
    for text in raw:
        when, message = split_kube_line(text)
        yield LogLine(when, source.component, source.pod, source.container, message)


def read_merged(sources: list[LogSource], open_stream: StreamOpener, options: LogOptions,
                problems: Problems) -> tuple[list[LogLine], int]:
    """Every source read to its end (at most `concurrency` at a time), merged, filtered, tailed.
    Returns the lines and how many sources could be read."""

    def read(source: LogSource) -> list[LogLine] | None:
        try:
            return list(stamp_continuations(parse_stream(source, open_stream(source, follow=False))))
        except Exception as err:  # noqa: BLE001 - any failure of one container is reported, not fatal
            problems.report(source, str(err))
            return None

    with ThreadPoolExecutor(max_workers=options.concurrency, thread_name_prefix="logs") as pool:
        results = list(pool.map(read, sources))
    streams = [r for r in results if r is not None]
    merged = (line for line in merge_streams(streams) if options.line_filter.matches(line))
    return last_lines(merged, options.tail), len(streams)


@dataclass
class Follower:
    """--follow: one thread per container streams into a queue; the main thread merges through a
    reorder window, prints, and every few seconds lists the pods again to pick up new ones."""

    list_sources: Callable[[], list[LogSource]]
    open_stream: StreamOpener
    options: LogOptions
    printer: Printer
    problems: Problems
    clock: Callable[[], float] = time.monotonic
    wall_clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)
    events: "queue.Queue[tuple[str, LogSource, object]]" = field(default_factory=queue.Queue)
    active: set = field(default_factory=set)
    last_seen: dict = field(default_factory=dict)
    started_at: datetime | None = None

    def _pump(self, source: LogSource, since_time: str | None) -> None:
        try:
            for line in parse_stream(source, self.open_stream(source, follow=True, since_time=since_time)):
                self.events.put(("line", source, line))
        except Exception as err:  # noqa: BLE001 - reported once, the others go on
            self.events.put(("error", source, str(err)))
        finally:
            self.events.put(("end", source, None))

    def start(self, sources: list[LogSource], *, initial: bool = False) -> None:
        for source in sources:
            if source.key in self.active:
                continue
            if len(self.active) >= MAX_FOLLOWED_STREAMS:
                self.problems.report(source, f"more than {MAX_FOLLOWED_STREAMS} containers followed at once")
                continue
            # A stream opened after following began (a new pod, or a container's next instance)
            # reads from where its last line was seen, or else from when following began: under
            # --tail its first lines, written before the relist found it, would be cut off.
            seen = self.last_seen.get(source.key)
            if seen is None and not initial:
                seen = self.started_at
            since_time = seen.strftime("%Y-%m-%dT%H:%M:%SZ") if seen is not None else None
            self.active.add(source.key)
            threading.Thread(target=self._pump, args=(source, since_time), daemon=True,
                             name=f"logs-{source.pod}-{source.container}").start()

    def run(self, initial: list[LogSource], until: Callable[[], bool] = lambda: False) -> None:
        """Streams until `until()` is true (tests) or the user interrupts (Ctrl-C)."""
        window = ReorderWindow(FOLLOW_WINDOW_SECONDS)
        self.started_at = self.wall_clock()
        self.start(initial, initial=True)
        next_list = self.clock() + FOLLOW_RELIST_SECONDS
        try:
            while not until():
                try:
                    kind, source, payload = self.events.get(timeout=0.2)
                except queue.Empty:
                    kind = None
                now = self.clock()
                if kind == "line":
                    line: LogLine = payload  # type: ignore[assignment]
                    seen = self.last_seen.get(source.key)
                    # A stream restarted with sinceTime repeats the lines of its first second.
                    if line.time is not None and seen is not None and line.time <= seen:
                        continue
                    if line.time is not None:
                        self.last_seen[source.key] = line.time
                    if self.options.line_filter.matches(line):
                        self.printer.write(window.push(line, now))
                elif kind == "error":
                    self.problems.report(source, str(payload))
                elif kind == "end":
                    self.active.discard(source.key)
                self.printer.write(window.release(now))
                if now >= next_list:
                    next_list = now + FOLLOW_RELIST_SECONDS
                    try:
                        current = self.list_sources()
                    except Exception as err:  # noqa: BLE001 - the API may blip; keep streaming
                        print(f"parity: logs: listing pods failed, retrying: {err}", file=self.problems.err)
                        continue
                    self.start(sources_to_follow(current, self.active))
        finally:
            self.printer.write(window.flush())


# ---- command ----------------------------------------------------------------------------------


def read_environment_pods(kube, namespace: str, name: str) -> list[dict]:
    """The environment's pods; CliError when the environment does not exist or the API fails."""
    from parity.kube.client import KubeError

    try:
        env = kube.get(f"/apis/{constants.API_VERSION}/namespaces/{namespace}/{constants.ENVIRONMENT_PLURAL}/{name}")
        if env is None:
            raise CliError(f"{constants.ENVIRONMENT_KIND} {namespace}/{name} not found at {kube.host} "
                           f"(kubectl get {constants.ENVIRONMENT_SHORT_NAME} -n {namespace})")
        pods = kube.request("GET", f"/api/v1/namespaces/{namespace}/pods",
                            query=[("labelSelector", f"{constants.LABEL_ENVIRONMENT}={name}")])
    except KubeError as err:
        raise CliError(f"{kube.host}: {err}") from None
    return list(pods.get("items") or [])


def run_logs(args: argparse.Namespace, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    from parity.kube.podlogs import LogRequest, stream_pod_log

    options = parse_options(args)
    out = out or sys.stdout
    err = err or sys.stderr
    from parity.cli.kubeclient import connect

    kube = connect(args.context)
    try:
        pods = read_environment_pods(kube, options.namespace, options.name)
        sources = sources_of_pods(pods, options.components, previous=options.previous)

        def open_stream(source: LogSource, *, follow: bool, since_time: str | None = None) -> Iterator[str]:
            request = LogRequest(follow=follow, previous=options.previous, since_seconds=options.since_seconds,
                                 since_time=since_time, tail_lines=None if since_time else options.tail)
            return stream_pod_log(kube, options.namespace, source.pod, source.container, request)

        problems = Problems(err)
        width = max((len(s.label) for s in sources), default=0)
        printer = Printer(options, out, width)
        what = f"{constants.ENVIRONMENT_KIND} {options.namespace}/{options.name}"
        if options.follow:
            def list_sources() -> list[LogSource]:
                return sources_of_pods(read_environment_pods(kube, options.namespace, options.name),
                                       options.components)

            if not sources:
                print(f"parity: logs: {what} has no {_which(options)}containers yet; waiting for them", file=err)
            Follower(list_sources, open_stream, options, printer, problems).run(sources)
            return EXIT_OK
        if not sources:
            kind = "restarted " if options.previous else ""
            print(f"parity: logs: {what} has no {kind}{_which(options)}containers", file=err)
            return EXIT_OK
        lines, readable = read_merged(sources, open_stream, options, problems)
        if readable == 0:
            raise CliError(f"{what}: none of its {len(sources)} containers could be read (see above)")
        printer.write(lines)
        return EXIT_OK
    finally:
        kube.close()


def _which(options: LogOptions) -> str:
    return f"{'/'.join(options.components)} " if options.components else ""
