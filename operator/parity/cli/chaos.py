"""`parity chaos`: deterministic chaos experiments on a running environment (issue 16.2).

    parity chaos list                                   the experiments, one per line
    parity chaos run EXPERIMENT -n NAMESPACE NAME [--seed S] [--duration SECONDS] [-o json]

Exit codes: 0 every invariant held; 1 one was broken, none was checked, or the experiment
could not run (the message says why).
"""

from __future__ import annotations

import argparse
import random

from parity.chaos.experiments import EXPERIMENTS
from parity.chaos.node import FaultError
from parity.chaos.report import exit_code, render_json, render_text
from parity.cli.errors import EXIT_OK, CliError, service_error_types, unreachable


def register(subparsers) -> None:
    parser = subparsers.add_parser("chaos", help="run a chaos experiment against an environment")
    commands = parser.add_subparsers(dest="chaos_command", metavar="COMMAND", parser_class=type(parser))
    commands.required = True
    listing = commands.add_parser("list", help="name the experiments, one per line")
    listing.set_defaults(func=list_experiments)
    run = commands.add_parser("run", help="run one experiment and check its invariants")
    run.add_argument("experiment", metavar="EXPERIMENT", help="one of: " + ", ".join(EXPERIMENTS))
    run.add_argument("name", metavar="NAME", help="the ParityEnvironment")
    run.add_argument("-n", "--namespace", required=True, help="its namespace")
    run.add_argument("--seed", type=int, default=None, help="the seed (default: a random one, printed in the report)")
    run.add_argument("--duration", type=float, default=30.0, metavar="SECONDS",
                     help="how long the fault lasts before it is healed (default: %(default)s)")
    run.add_argument("-o", "--output", choices=("text", "json"), default="text")
    run.add_argument("--context", metavar="CONTEXT", help="kubeconfig context")
    run.add_argument("--containerd-address", metavar="SOCKET", default=None,
                     help="containerd socket of the node (default: $PARITY_CONTAINERD_ADDRESS, else the node of "
                     "`parity cluster` in $PARITY_STATE_DIR or .parity/cluster)")
    run.set_defaults(func=run_experiment)


def list_experiments(args: argparse.Namespace) -> int:
    for name in EXPERIMENTS:
        print(name)
    return EXIT_OK


def run_experiment(args: argparse.Namespace) -> int:
    experiment = EXPERIMENTS.get(args.experiment)
    if experiment is None:
        raise CliError(f"unknown experiment {args.experiment!r}: use one of {', '.join(EXPERIMENTS)} (parity chaos list)")
    if args.duration <= 0:
        raise CliError(f"--duration must be positive, not {args.duration}")
    if experiment.run is None:
        raise CliError(f"experiment {experiment.name}: {experiment.blocked or 'not built'}")
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31)
    ctx = _context(args, seed)
    try:
        report = experiment.run(ctx)
    except (FaultError, LookupError, ValueError, TimeoutError) as err:
        raise CliError(f"chaos {experiment.name} (seed {seed}): {err}") from None
    except service_error_types() as err:
        raise CliError(f"chaos {experiment.name} (seed {seed}): the environment's services cannot be reached: "
                       f"{unreachable(err)}") from None
    finally:
        ctx.kube.close()
    print(render_json(report) if args.output == "json" else render_text(report))
    return exit_code(report)


def _context(args: argparse.Namespace, seed: int):
    from parity.chaos.context import ChaosContext
    from parity.chaos.node import PodFaults, runtime_or_error
    from parity.cli.inspect import cluster_targets
    from parity.probes.endpoints import postgres_conninfo

    try:
        runtime = runtime_or_error(args.containerd_address)
    except FaultError as err:
        raise CliError(str(err)) from None
    endpoints, credentials, spec, kube = cluster_targets(args, args.name)
    return ChaosContext(kube=kube, namespace=args.namespace, name=args.name, seed=seed, duration=args.duration,
                        endpoints=endpoints, credentials=credentials, spec=spec,
                        faults=PodFaults(kube, args.namespace, runtime),
                        conninfo=postgres_conninfo(endpoints, credentials))
