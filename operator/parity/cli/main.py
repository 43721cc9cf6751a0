"""Entry point of the `parity` console script.

Each command module exposes `register(subparsers)`, which adds its sub-commands and sets
`func` on them; `func(args) -> int` returns the exit code. Errors that are the user's
(bad file, bad field, unreachable endpoint) are raised as `CliError` and printed as one
clear line without a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMAND_MODULES = (
    "parity.cli.diff",  # diff, validate
    "parity.cli.inspect",  # inspect
    "parity.cli.logs",  # logs
    "parity.cli.observability",  # observability up/down
    "parity.cli.drill",  # drill
    "parity.cli.cluster",  # cluster up/down/env
    "parity.cli.run",  # run (the operator)
    "parity.cli.docs",  # docs crd-reference
    "parity.cli.images",  # images build/import/list
    "parity.cli.drift",  # drift approve
    "parity.cli.baseline",  # baseline capture/diff
    "parity.cli.chaos",  # chaos list/run
)

from parity.cli.errors import EXIT_DRIFT, EXIT_ERROR, EXIT_OK, CliError  # noqa: F401  (re-exported)
from parity.probes.clusterdns import install_from_env as install_cluster_dns


class ArgumentParser(argparse.ArgumentParser):
    """argparse exits 2 on a usage error, which CI would read as "drift found": use 1."""

    def error(self, message: str):
        self.print_usage(sys.stderr)
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="parity", description="Keep a local environment identical to production.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=ArgumentParser)
    subparsers.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # On the host of a real node, cluster names (*.svc) resolve through its DNS (opt-in).
    install_cluster_dns()
    try:
        return int(args.func(args) or 0)
    except CliError as err:
        print(f"parity: {err}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
