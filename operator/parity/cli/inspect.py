"""`parity inspect`: who leads, who follows, how far behind, on one screen.

    parity inspect [etcd|patroni|redis|all] -n NAMESPACE NAME [-o table|json]
    parity inspect [etcd|patroni|redis|all] [--etcd URL...] [--patroni URL...] [--postgres DSN]
                   [--redis HOST:PORT...] [--sentinel HOST:PORT...] [--master-group NAME] [-o table|json]

Cluster mode resolves the service endpoints from the ParityEnvironment (Service DNS names, or
your own PARITY_ENDPOINTS / PARITY_ENDPOINTS_FILE overrides; never anything written on the
object) and reads the PostgreSQL credentials from its Secret.
Explicit mode dials what it is given; passwords come from the DSN, PGPASSWORD or
PARITY_POSTGRES_PASSWORD, and PARITY_REDIS_PASSWORD — never printed.

Marks: ✗ something is broken (no leader, a member down, Sentinels disagreeing), ! worth a look
(lag, timeline mismatch). Exit codes: 0 every selected component answered; 1 one of them could
not be read (its error names the endpoint), or nothing was reachable at all.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from typing import Any, Sequence

from parity.cli.main import EXIT_ERROR, EXIT_OK, CliError
from parity.probes.base import ProbeResult
from parity.probes.collect import COMPONENTS, names_to_probe, probe_services, read_cluster_targets
from parity.probes.endpoints import Credentials, EndpointError, ServiceEndpoints

OUTPUTS = ("table", "json")
CHOICES = (*COMPONENTS, "all")
CRITICAL_MARK = "✗"
WARNING_MARK = "!"
OK_MARK = "✓"
TITLES = {"etcd": "etcd", "postgres": "Patroni / PostgreSQL", "redis": "Redis / Sentinel"}


# ---- arguments shared with `parity drill` ---------------------------------------------------


def add_target_arguments(
    parser: argparse.ArgumentParser,
    *,
    components: Sequence[str] = COMPONENTS,
    timeout_help: str = "per-probe timeout (default: %(default)s)",
    timeout_default: float = 5.0,
) -> None:
    parser.add_argument(
        "-n", "--namespace", metavar="NAMESPACE", help="cluster mode: the environment's namespace (give NAME too)"
    )
    parser.add_argument("--context", metavar="CONTEXT", help="kubeconfig context (cluster mode)")
    if "etcd" in components:
        parser.add_argument("--etcd", nargs="+", default=[], metavar="URL", help="etcd client URLs (http://host:2379)")
    if "patroni" in components:
        parser.add_argument(
            "--patroni", nargs="+", default=[], metavar="URL", help="Patroni REST URLs (http://host:8008), any members"
        )
        parser.add_argument(
            "--postgres",
            metavar="DSN",
            help="PostgreSQL credentials/database (libpq DSN or URL); without a host, the leader Patroni names is used",
        )
    if "redis" in components:
        parser.add_argument("--redis", nargs="+", default=[], metavar="HOST:PORT", help="Redis nodes")
        parser.add_argument("--sentinel", nargs="+", default=[], metavar="HOST:PORT", help="Sentinels")
        parser.add_argument(
            "--master-group", default=None, metavar="NAME", help="Sentinel master group name (default: mymaster)"
        )
    parser.add_argument("--timeout", type=float, default=timeout_default, metavar="SECONDS", help=timeout_help)
    parser.add_argument("-o", "--output", choices=OUTPUTS, default="table", help="output format (default: table)")


def explicit_targets(
    args: argparse.Namespace, environ: dict[str, str] | None = None
) -> tuple[ServiceEndpoints, Credentials]:
    environ = os.environ if environ is None else environ
    endpoints = ServiceEndpoints(
        etcd=tuple(getattr(args, "etcd", []) or []),
        patroni=tuple(getattr(args, "patroni", []) or []),
        postgres=getattr(args, "postgres", None),
        redis=tuple(getattr(args, "redis", []) or []),
        sentinel=tuple(getattr(args, "sentinel", []) or []),
        master_group_name=getattr(args, "master_group", None) or "mymaster",
    )
    credentials = Credentials(
        postgres_user=environ.get("PARITY_POSTGRES_USER", "postgres"),
        postgres_password=environ.get("PARITY_POSTGRES_PASSWORD"),
        redis_password=environ.get("PARITY_REDIS_PASSWORD"),
    )
    return endpoints, credentials


def has_explicit_targets(args: argparse.Namespace) -> bool:
    return any(getattr(args, key, None) for key in ("etcd", "patroni", "postgres", "redis", "sentinel"))


def cluster_targets(args: argparse.Namespace, name: str):
    """(endpoints, credentials, spec, kube) of NAME in args.namespace; CliError naming what failed."""
    from parity.api.errors import SpecError
    from parity.cli.kubeclient import connect
    from parity.kube.client import KubeError

    kube = connect(args.context)
    try:
        endpoints, credentials, spec, _ = read_cluster_targets(kube, args.namespace, name)
    except (LookupError, EndpointError, SpecError) as err:
        raise CliError(str(err)) from None
    except KubeError as err:
        raise CliError(f"{kube.host}: {err}") from None
    return endpoints, credentials, spec, kube


# ---- rendering (pure) -----------------------------------------------------------------------


def _mark(problems: list[dict]) -> str:
    severities = {p.get("severity") for p in problems}
    return CRITICAL_MARK if "critical" in severities else WARNING_MARK if severities else OK_MARK


def _bytes(value: Any) -> str:
    if value is None:
        return "-"
    value = int(value)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(value) < 1024 or unit == "GiB":
            return f"{value} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return str(value)


def _seconds(value: Any) -> str:
    return "-" if value is None else f"{float(value):.3f}s"


def _table(headers: Sequence[str], rows: list[Sequence[Any]], indent: str = "  ") -> list[str]:
    cells = [[str(c) for c in headers]] + [["-" if c is None or c == "" else str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    return [indent + "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]


def render_etcd(result: ProbeResult) -> list[str]:
    d = result.details
    head = (
        f"etcd {result.values.get('etcd.version', '?')} (cluster {d.get('clusterVersion') or '?'})  "
        f"{result.values.get('etcd.replicas', 0)} members  leader {d.get('leader') or 'NONE'}"
    )
    rows = []
    for m in d.get("members", []):
        health = "-" if "healthy" not in m else (OK_MARK if m["healthy"] else CRITICAL_MARK)
        if m.get("error"):
            health = f"{CRITICAL_MARK} {m['error']}"
        role = "leader" if m.get("isLeader") else ("learner" if m.get("learner") else "follower")
        urls = ", ".join(m.get("clientUrls", []))
        rows.append([m["name"], role, health, _bytes(m.get("dbSize")), m.get("raftTerm"), m.get("raftIndex"), urls])
    return [head] + _table(["MEMBER", "ROLE", "HEALTH", "DB SIZE", "TERM", "INDEX", "CLIENT URL"], rows)


def render_patroni(result: ProbeResult) -> list[str]:
    d, v = result.details, result.values
    sync = v.get("postgres.patroni.synchronousMode")
    head = (
        f"Patroni {d.get('patroniVersion') or '?'}  scope {d.get('scope') or '?'}  "
        f"PostgreSQL {v.get('postgres.version', '?')}  "
        f"leader {d.get('leader') or 'NONE'}  timeline {d.get('timeline') or '-'}  "
        f"synchronous_mode {'on' if sync else 'off'}  ttl {v.get('postgres.patroni.ttl')}s"
    )
    replication = {r.get("application_name"): r for r in d.get("replication", [])}
    rows = []
    for m in d.get("members", []):
        rep = replication.get(m["name"], {})
        lag = "unknown" if m.get("lagUnknown") else (_bytes(m.get("lagBytes")) if m.get("role") != "leader" else "")
        replay = rep.get("replay_lag_seconds")
        if replay is None and rep.get("replay_lag_bytes") == 0:
            replay = 0.0  # PostgreSQL clears the lag times once a standby has caught up
        address = f"{m.get('host')}:{m.get('port')}" if m.get("host") else ""
        replay_bytes = _bytes(rep.get("replay_lag_bytes")) if rep else ""
        replay_time = _seconds(replay) if rep else ""
        rows.append(
            [m["name"], m.get("role"), m.get("state"), m.get("timeline"), lag, replay_bytes, replay_time,
             rep.get("sync_state", ""), address]
        )  # fmt: skip
    headers = ["MEMBER", "ROLE", "STATE", "TL", "LAG (PATRONI)", "REPLAY LAG", "REPLAY LAG TIME", "SYNC", "ADDRESS"]
    lines = [head] + _table(headers, rows)
    if result.pending_restart:
        lines.append(f"  {WARNING_MARK} pending restart: {', '.join(result.pending_restart)}")
    return lines


def render_redis(result: ProbeResult) -> list[str]:
    d, v = result.details, result.values
    head = (
        f"Redis {v.get('redis.version', '?')}  primary {d.get('primary') or 'NONE'}  "
        f"Sentinels say {d.get('sentinelPrimary') or '-'}  quorum {v.get('redis.sentinel.quorum', '-')}  "
        f"{v.get('redis.sentinel.replicas', 0)} Sentinels"
    )
    rows = []
    for n in d.get("nodes", []):
        if n.get("error"):
            rows.append([n["address"], f"{CRITICAL_MARK} unreachable", "", "", "", "", ""])
            continue
        role = "primary" if n.get("role") == "master" else "replica"
        lag = _bytes(n.get("lagBytes")) if role == "replica" else ""
        ack_age = f"{n['lagSeconds']}s" if n.get("lagSeconds") is not None else ""
        rows.append([n["address"], role, n.get("primary", ""), n.get("linkStatus", ""), n.get("offset"), lag, ack_age])
    lines = [head] + _table(["NODE", "ROLE", "FOLLOWS", "LINK", "OFFSET", "LAG", "ACK AGE"], rows)
    srows = []
    for s in d.get("sentinels", []):
        if s.get("error"):
            srows.append([s["address"], f"{CRITICAL_MARK} {s['error']}", "", "", ""])
        else:
            known = (s.get("otherSentinels") or 0) + 1
            srows.append([s["address"], s.get("primary"), s.get("quorum"), known, s.get("flags")])
    if srows:
        lines += _table(["SENTINEL", "NAMES PRIMARY", "QUORUM", "KNOWS", "FLAGS"], srows)
    return lines


RENDERERS = {"etcd": render_etcd, "postgres": render_patroni, "redis": render_redis}


def render_inspect(results: Sequence[ProbeResult]) -> str:
    lines: list[str] = []
    for result in results:
        if result.error:
            lines.append(f"{CRITICAL_MARK} {TITLES.get(result.component, result.component)}: {result.error}")
            lines.append("")
            continue
        problems = result.details.get("problems", [])
        body = RENDERERS[result.component](result)
        lines.append(f"{_mark(problems)} {body[0]}")
        lines += body[1:]
        for p in problems:
            lines.append(f"  {CRITICAL_MARK if p['severity'] == 'critical' else WARNING_MARK} {p['message']}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def results_to_json(results: Sequence[ProbeResult]) -> str:
    return json.dumps(
        [
            {
                "component": r.component,
                "endpoint": r.endpoint,
                "ok": r.ok,
                "error": r.error,
                "values": r.values,
                "details": r.details,
                "pendingRestart": list(r.pending_restart),
            }
            for r in results
        ],
        indent=2,
        default=str,
    )


# ---- command --------------------------------------------------------------------------------


def split_positionals(words: Sequence[str], choices: Sequence[str]) -> tuple[str, str | None]:
    """`[COMPONENT] [NAME]`: the component is optional, so a lone word that is not one is the name."""
    words = list(words)
    component = "all"
    if words and words[0] in choices:
        component = words.pop(0)
    if len(words) > 1:
        usage = f"parity inspect [{'|'.join(choices)}] [-n NAMESPACE NAME]"
        raise CliError(f"unexpected arguments: {' '.join(words[1:])} (usage: {usage})")
    return component, (words[0] if words else None)


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "inspect",
        help="show leaders, members, lag and quorum of the running services",
        description=(
            "Probe the running etcd, Patroni/PostgreSQL and Redis/Sentinel: leaders, followers, lag (bytes and "
            "seconds; Redis offsets), timelines, quorum and health. Cluster mode: -n NAMESPACE NAME. Explicit "
            "mode: --etcd/--patroni/--postgres/--redis/--sentinel. Exit 1 when a selected component cannot be read."
        ),
    )
    parser.add_argument(
        "words",
        nargs="*",
        metavar="[COMPONENT] [NAME]",
        help=f"component ({', '.join(CHOICES)}; default all), then the environment NAME with -n",
    )
    add_target_arguments(parser)
    parser.set_defaults(func=run_inspect)


def run_inspect(args: argparse.Namespace) -> int:
    component, name = split_positionals(args.words, CHOICES)
    wanted = COMPONENTS if component == "all" else (component,)
    parameter_names = None
    config_keys = None
    if args.namespace or name:
        if not (args.namespace and name):
            raise CliError("cluster mode needs both -n NAMESPACE and the environment NAME")
        if has_explicit_targets(args):
            raise CliError("give either -n NAMESPACE NAME or explicit endpoints, not both")
        endpoints, credentials, spec, kube = cluster_targets(args, name)
        kube.close()
        parameter_names, config_keys = names_to_probe(spec)
    elif has_explicit_targets(args):
        endpoints, credentials = explicit_targets(args)
    else:
        raise CliError(
            "nothing to inspect: give -n NAMESPACE NAME, or endpoints with --etcd/--patroni/--redis/--sentinel"
        )

    flags = {"etcd": "--etcd", "patroni": "--patroni", "redis": "--redis/--sentinel"}
    available = {
        "etcd": bool(endpoints.etcd),
        "patroni": bool(endpoints.patroni),
        "redis": bool(endpoints.redis or endpoints.sentinel),
    }
    if component != "all" and not available[component]:
        raise CliError(f"inspect {component}: no endpoints; give {flags[component]} (or -n NAMESPACE NAME)")
    selected = [c for c in wanted if available[c]]
    results = asyncio.run(
        probe_services(
            endpoints,
            credentials,
            components=selected,
            parameter_names=parameter_names,
            config_keys=config_keys,
            timeout=args.timeout,
        )
    )
    if results and all(not r.ok for r in results):
        reasons = "; ".join(f"{TITLES.get(r.component, r.component)}: {r.error}" for r in results)
        raise CliError(f"nothing reachable: {reasons}")
    if args.output == "json":
        print(results_to_json(results))
    else:
        print(render_inspect(results), end="")
    return EXIT_ERROR if any(not r.ok for r in results) else EXIT_OK
