"""`parity chaos`: deterministic chaos experiments on a running environment (issue 16.2).

    parity chaos list                                   the experiments, one per line
    parity chaos run EXPERIMENT -n NAMESPACE NAME [--seed S] [--duration SECONDS] [-o json]

Exit codes: 0 every invariant held; 1 one was broken, none was checked, or the experiment
could not run (the message says why).
"""

from __future__ import annotations

import argparse
import random

from parity.chaos.experiments import EXPERIMENTS, ExperimentSettings
from parity.chaos.report import exit_code, render_json, render_text
from parity.cli.errors import EXIT_OK, CliError


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
        raise CliError(f"experiment {experiment.name} is not implemented yet (issue 16.2)")
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31)
    report = experiment.run(ExperimentSettings(namespace=args.namespace, name=args.name, seed=seed,
                                               duration=args.duration))
    print(render_json(report) if args.output == "json" else render_text(report))
    return exit_code(report)
