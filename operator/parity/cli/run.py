"""`parity run`: the operator itself (kopf), cluster-wide or limited to namespaces."""

from __future__ import annotations

import asyncio
import logging
import os

from parity import constants
from parity.cli.errors import CliError
from parity.instance import planned_ports, taken_ports_message
from parity.probes.endpoints import ENDPOINTS_FILE_ENV, EndpointError, load_endpoint_map


def register(subparsers) -> None:
    parser = subparsers.add_parser("run", help="run the operator (kopf) against the current kube context")
    parser.add_argument("-n", "--namespace", action="append", default=[],
                        help="watch only this namespace (repeatable; default: all namespaces)")
    parser.add_argument("--liveness", default=f"http://0.0.0.0:{constants.DEFAULT_HEALTH_PORT}/healthz",
                        help="kopf liveness endpoint (empty to disable)")
    parser.add_argument("--endpoints", metavar="FILE",
                        help='JSON file mapping "<namespace>/<name>" to endpoint overrides for the runtime probes, '
                             "for running outside the cluster (docs/runtime.md); sets PARITY_ENDPOINTS_FILE")
    parser.add_argument("--verbose", action="store_true")
    parser.set_defaults(func=run_operator)


def run_operator(args) -> int:
    import kopf

    import parity.handlers  # noqa: F401  (registers the handlers)

    if args.endpoints:
        os.environ[ENDPOINTS_FILE_ENV] = args.endpoints
    try:  # a bad override file is the user's error: one line, exit 1, before anything starts
        load_endpoint_map(os.environ)
    except EndpointError as err:
        raise CliError(str(err)) from None
    # Before anything starts: a taken port would otherwise end the operator half-way through
    # start-up with a bare `[Errno 98]`, while the other process keeps answering probes.
    metrics_port = int(os.environ.get("PARITY_METRICS_PORT", constants.DEFAULT_METRICS_PORT))
    taken = taken_ports_message(planned_ports(args.liveness or None, metrics_port))
    if taken:
        raise CliError(taken)

    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    namespaces = args.namespace
    # kopf wants a collection here even when cluster-wide (None crashes its namespace observer).
    asyncio.run(kopf.operator(
        clusterwide=not namespaces,
        namespaces=namespaces,
        standalone=True,
        liveness_endpoint=args.liveness or None,
    ))
    return 0
