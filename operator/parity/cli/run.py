"""`parity run`: the operator itself (kopf), cluster-wide or limited to namespaces."""

from __future__ import annotations

import asyncio
import logging

from parity import constants


def register(subparsers) -> None:
    parser = subparsers.add_parser("run", help="run the operator (kopf) against the current kube context")
    parser.add_argument("-n", "--namespace", action="append", default=[],
                        help="watch only this namespace (repeatable; default: all namespaces)")
    parser.add_argument("--liveness", default=f"http://0.0.0.0:{constants.DEFAULT_HEALTH_PORT}/healthz",
                        help="kopf liveness endpoint (empty to disable)")
    parser.add_argument("--verbose", action="store_true")
    parser.set_defaults(func=run_operator)


def run_operator(args) -> int:
    import kopf

    import parity.handlers  # noqa: F401  (registers the handlers)

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
