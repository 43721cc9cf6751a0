"""`parity drill`: kill the primary on purpose and check that no acknowledged write is lost.

    parity drill failover       (-n NAMESPACE NAME | --patroni URL... --postgres DSN) [options]
    parity drill redis-failover (-n NAMESPACE NAME | --sentinel HOST:PORT...) [options]

How the leader is killed: --kill pod (cluster mode default: delete the leader's pod),
--kill process (cluster mode: SIGKILL every process of the leader's container through the
container runtime of the node on this machine, as a crash or the OOM killer would; the kubelet
restarts it, and the same member may lead again), --kill local (explicit mode default: SIGKILL
the processes listening on the leader's ports on this machine), or --kill-command 'CMD' with
{member} {host} {port} {api_url} filled in.

Exit codes: 0 the drill passed (a new leader took over; with Patroni synchronous_mode on, no
acknowledged write was lost); 1 it failed or could not run (the message says why).
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import replace
from typing import Any, Coroutine

from parity.cli.inspect import add_target_arguments, cluster_targets, explicit_targets, has_explicit_targets
from parity.cli.main import EXIT_ERROR, EXIT_OK, CliError
from parity.drill.common import DrillError, DrillSettings
from parity.drill.killers import (
    CommandKiller,
    ContainerKiller,
    KillError,
    LocalProcessKiller,
    PodKiller,
    local_node_runtime,
)
from parity.drill.patroni import run_patroni_drill
from parity.drill.redis import run_redis_drill
from parity.drill.report import DrillReport, render_report
from parity.probes.endpoints import postgres_conninfo

KILL_STRATEGIES = ("local", "pod", "process", "command")
WRITE_TIMEOUT_HELP = "a write or connection taking longer counts as failed (default: %(default)s)"


def _drill_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", metavar="NAME", help="the ParityEnvironment (cluster mode, with -n)")
    parser.add_argument(
        "--kill",
        choices=KILL_STRATEGIES,
        default=None,
        help="how to kill the leader (default: pod with -n, else local)",
    )
    parser.add_argument(
        "--containerd-address",
        metavar="SOCKET",
        default=None,
        help="containerd socket of the node, for --kill process (default: $PARITY_CONTAINERD_ADDRESS, else the "
        "node of `parity cluster` in .parity/cluster)",
    )
    parser.add_argument(
        "--kill-command",
        metavar="CMD",
        help="shell command that kills the leader; {member} {host} {port} {api_url} are filled in",
    )
    parser.add_argument(
        "--interval", type=float, default=0.02, metavar="SECONDS", help="pause between writes (default: %(default)s)"
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=20,
        metavar="WRITES",
        help="acknowledged writes before the kill (default: %(default)s)",
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help="keep writing this long on the new leader (default: %(default)s)",
    )
    parser.add_argument(
        "--failover-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help=(
            "give up waiting for a new leader after this (default: Patroni 120; Redis the Sentinels' own bound, "
            "down-after-milliseconds + 2 x failover-timeout + 10 s, read from them)"
        ),
    )


def register(subparsers) -> None:
    drill = subparsers.add_parser("drill", help="failover drills: kill the primary, verify acknowledged writes")
    commands = drill.add_subparsers(dest="drill_command", metavar="DRILL")
    commands.required = True

    failover = commands.add_parser(
        "failover",
        help="Patroni: write rows, kill the leader, measure the outage, verify every acknowledged row",
        description=(
            "Write numbered rows to parity_drill(seq, ts) through the Patroni leader, kill it, keep writing to the "
            "new leader, and verify every acknowledged row is there. With synchronous_mode on, any lost row fails "
            "the drill."
        ),
    )
    _drill_options(failover)
    add_target_arguments(failover, components=("patroni",), timeout_help=WRITE_TIMEOUT_HELP, timeout_default=3.0)
    failover.set_defaults(func=run_failover_drill)

    redis = commands.add_parser(
        "redis-failover",
        help="Redis Sentinel: RPUSH items, kill the primary, measure the outage, count lost items",
        description=(
            "RPUSH numbered items to the list parity_drill on the primary the Sentinels name, kill it, keep writing "
            "to the new primary, and count acknowledged items the new primary does not have."
        ),
    )
    _drill_options(redis)
    add_target_arguments(redis, components=("redis",), timeout_help=WRITE_TIMEOUT_HELP, timeout_default=3.0)
    redis.set_defaults(func=run_redis_failover_drill)


def _settings(args: argparse.Namespace) -> DrillSettings:
    for flag, value in (
        ("--interval", args.interval),
        ("--settle", args.settle),
        ("--failover-timeout", args.failover_timeout),
    ):
        if value is not None and value < 0:
            raise CliError(f"{flag} must not be negative (got {value})")
    if args.timeout <= 0:
        raise CliError(f"--timeout must be positive (got {args.timeout})")
    if args.warmup < 1:
        raise CliError(f"--warmup must be at least 1 (got {args.warmup})")
    return DrillSettings(
        interval=args.interval,
        write_timeout=args.timeout,
        warmup_writes=args.warmup,
        settle_seconds=args.settle,
        timeout=args.failover_timeout,
        leader_may_return=args.kill == "process",
    )


def _targets(args: argparse.Namespace):
    """(endpoints, credentials, kube or None)."""
    if args.namespace or args.name:
        if not (args.namespace and args.name):
            raise CliError("cluster mode needs both -n NAMESPACE and the environment NAME")
        if has_explicit_targets(args):
            raise CliError("give either -n NAMESPACE NAME or explicit endpoints, not both")
        endpoints, credentials, _, kube = cluster_targets(args, args.name)
        return endpoints, credentials, kube
    if not has_explicit_targets(args):
        raise CliError("nothing to drill: give -n NAMESPACE NAME, or explicit endpoints")
    endpoints, credentials = explicit_targets(args)
    return endpoints, credentials, None


def _killer(args: argparse.Namespace, kube):
    strategy = args.kill or ("command" if args.kill_command else "pod" if kube is not None else "local")
    if strategy == "command":
        if not args.kill_command:
            raise CliError("--kill command needs --kill-command 'CMD'")
        return CommandKiller(args.kill_command)
    if strategy == "pod":
        if kube is None:
            raise CliError("--kill pod needs cluster mode (-n NAMESPACE NAME)")
        return PodKiller(kube, args.namespace, args.name)
    if strategy == "process":
        if kube is None:
            raise CliError("--kill process needs cluster mode (-n NAMESPACE NAME)")
        try:
            runtime = local_node_runtime(args.containerd_address)
        except KillError as err:
            raise CliError(str(err)) from None
        return ContainerKiller(kube, args.namespace, args.name, runtime)
    return LocalProcessKiller()


def _run(drill: Coroutine[Any, Any, DrillReport], what: str, kube, output: str) -> int:
    """Run one drill coroutine, close the cluster client, print the report; `what` prefixes errors."""
    try:
        report = asyncio.run(drill)
    except DrillError as err:
        raise CliError(f"{what}: {err}") from None
    finally:
        if kube is not None:
            kube.close()
    print(render_report(report, output))
    return EXIT_OK if report.passed else EXIT_ERROR


def run_failover_drill(args: argparse.Namespace) -> int:
    settings = _settings(args)
    endpoints, credentials, kube = _targets(args)
    if not endpoints.patroni:
        raise CliError("drill failover: no Patroni endpoints; give --patroni URL... (or -n NAMESPACE NAME)")
    # The drill needs PostgreSQL even when --postgres is not given: credentials then come from
    # PARITY_POSTGRES_USER / PARITY_POSTGRES_PASSWORD (or PGPASSWORD), the host from Patroni.
    dsn = postgres_conninfo(replace(endpoints, postgres=endpoints.postgres or "dbname=postgres"), credentials)
    killer = _killer(args, kube)
    # In cluster mode the writes go through the environment's primary Service, as an
    # application's would; explicit mode writes to the leader Patroni names.
    drill = run_patroni_drill(endpoints.patroni, dsn, killer, settings,
                              through_service=kube is not None and bool(endpoints.postgres))
    return _run(drill, f"drill failover ({', '.join(endpoints.patroni)})", kube, args.output)


def run_redis_failover_drill(args: argparse.Namespace) -> int:
    settings = _settings(args)
    endpoints, credentials, kube = _targets(args)
    if not endpoints.sentinel:
        raise CliError(
            "drill redis-failover: no Sentinel endpoints; give --sentinel HOST:PORT... (or -n NAMESPACE NAME)"
        )
    killer = _killer(args, kube)
    drill = run_redis_drill(
        endpoints.sentinel, endpoints.master_group_name, killer, credentials.redis_password, settings,
        # An environment's Sentinels require the same password as its Redis (render/redis.py).
        sentinel_password=credentials.redis_password,
    )
    return _run(drill, f"drill redis-failover ({', '.join(endpoints.sentinel)})", kube, args.output)

