"""`parity drift approve`: approve corrections the operator holds back under `policy: approve`.

    parity drift approve -n NAMESPACE NAME [--finding PATH ...] [--context CONTEXT]

The operator lists, in status.actuation.pendingCorrections, each hand-made runtime change it
would put back (setting, running value, spec value, what it would run), and each child object
edited or deleted by hand (`live:<Kind>/<name>`, re-applied as rendered). This command approves
those you name (all of them without --finding) by writing their ids into the annotation
`approvals.parity.dev/corrections`; the operator's next pass applies exactly those, and none whose
running value changed since (its id changed). Exit 0 when written; 1 when nothing matches or
the environment cannot be read.
"""

from __future__ import annotations

import argparse

from parity.actuate.approval import APPROVAL_ANNOTATION, render_approvals
from parity.cli.main import EXIT_OK, CliError
from parity.kube import resources


def register(subparsers) -> None:
    drift = subparsers.add_parser("drift", help="act on drift the operator reports (approve corrections)")
    commands = drift.add_subparsers(dest="drift_command", metavar="COMMAND")
    commands.required = True
    approve = commands.add_parser("approve", help="approve pending runtime corrections (policy approve)")
    approve.add_argument("-n", "--namespace", required=True, help="namespace of the ParityEnvironment")
    approve.add_argument("name", metavar="NAME", help="the ParityEnvironment")
    approve.add_argument("--finding", action="append", default=[], metavar="PATH",
                         help="the path of a pending correction: a setting, or live:<Kind>/<name> (repeatable; "
                         "default: all of them)")
    approve.add_argument("--context", metavar="CONTEXT", help="kubeconfig context")
    approve.set_defaults(func=run_approve)


def choose(pending: list[dict], paths: list[str], where: str) -> list[dict]:
    """The pending corrections to approve; CliError naming every path that is not pending. Pure."""
    if not pending:
        raise CliError(f"{where}: no correction is pending (status.actuation.pendingCorrections is empty; "
                       "corrections are listed only under spec.drift.policy approve)")
    if not paths:
        return pending
    by_path = {c["path"]: c for c in pending}
    unknown = [p for p in paths if p not in by_path]
    if unknown:
        raise CliError(f"{where}: --finding {', '.join(unknown)}: not a pending correction; pending: "
                       f"{', '.join(sorted(by_path))}")
    return [by_path[p] for p in dict.fromkeys(paths)]


def run_approve(args: argparse.Namespace) -> int:
    from parity.cli.kubeclient import connect
    from parity.kube.apply import annotate
    from parity.kube.client import KubeError

    where = f"ParityEnvironment {args.namespace}/{args.name}"
    kube = connect(args.context)
    try:
        body = kube.get(resources.ENVIRONMENT.object_path(args.name, args.namespace))
        if body is None:
            raise CliError(f"{where} not found (kubectl get penv -n {args.namespace})")
        pending = ((body.get("status") or {}).get("actuation") or {}).get("pendingCorrections") or []
        chosen = choose(pending, args.finding, where)
        annotate(kube, resources.ENVIRONMENT, args.namespace, args.name,
                 {APPROVAL_ANNOTATION: render_approvals(chosen)},
                 resource_version=body["metadata"].get("resourceVersion"))
    except KubeError as err:
        if err.status == 409:
            raise CliError(f"{where} changed while approving; run the command again") from None
        raise CliError(f"{kube.host}: {err}") from None
    finally:
        kube.close()
    for correction in chosen:
        print(f"approved {correction['path']}: {correction['from']} → {correction['to']} ({correction['action']})")
    print("the operator applies them on its next pass (kubectl get events -n "
          f"{args.namespace} --field-selector reason=DriftCorrected)")
    return EXIT_OK
