"""`parity observability up|down -n NAMESPACE NAME`: turn the environment's observability stack
on or off and wait until the operator has done it.

Sets spec.observability.enabled with a JSON merge patch — an edit of the user's own object, as
`kubectl patch` would make, not the operator's server-side apply of its children — then waits
until the operator has reconciled that generation and, for `up`, every observability workload
is ready, for `down`, no observability workload is left. Exit codes: 0 done (or already so);
1 missing environment, unreachable cluster, the operator refused the change (Stalled), or
--timeout passed (the message says what was still missing).
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any, Callable

from parity import constants
from parity.cli.errors import EXIT_OK, CliError

ACTIONS = ("up", "down")
WORKLOAD_PATHS = ("/apis/apps/v1/namespaces/{ns}/deployments", "/apis/apps/v1/namespaces/{ns}/statefulsets")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "observability",
        help="turn an environment's observability stack on (up) or off (down) and wait for it",
        description=(
            "Set spec.observability.enabled on a ParityEnvironment and wait until the operator has brought the "
            "observability workloads up (ready) or removed them. Exit 1 when it does not happen within --timeout."
        ),
    )
    parser.add_argument("action", metavar="up|down", help="up: enable and wait until ready; down: disable and wait "
                                                         "until removed")
    parser.add_argument("name", metavar="NAME", help="the ParityEnvironment")
    parser.add_argument("-n", "--namespace", metavar="NAMESPACE", default="default",
                        help="its namespace (default: default)")
    parser.add_argument("--context", metavar="CONTEXT", help="kubeconfig context")
    parser.add_argument("--timeout", type=float, default=300.0, metavar="SECONDS",
                        help="how long to wait (default: %(default)s)")
    parser.set_defaults(func=run_observability)


def observability_progress(obj: dict[str, Any], enabled: bool, workloads_left: int) -> tuple[bool, str]:
    """(done, what is still missing) for the environment object as read now. Raises CliError
    when the operator refused the spec (Stalled=True), which waiting cannot fix."""
    metadata = obj.get("metadata") or {}
    status = obj.get("status") if isinstance(obj.get("status"), dict) else {}
    generation = metadata.get("generation")
    observed = status.get("observedGeneration")
    for condition in status.get("conditions") or []:
        if (isinstance(condition, dict) and condition.get("type") == constants.CONDITION_STALLED
                and condition.get("status") == "True" and observed == generation):
            raise CliError(f"the operator refused the change (Stalled: {condition.get('reason')}: "
                           f"{condition.get('message')})")
    if not isinstance(generation, int) or not isinstance(observed, int) or observed < generation:
        return False, f"the operator has not reconciled generation {generation} yet (observed {observed})"
    if enabled:
        component = (status.get("components") or {}).get(constants.COMPONENT_OBSERVABILITY) or {}
        ready, desired = component.get("ready"), component.get("desired")
        if not isinstance(desired, int) or desired <= 0:
            return False, "no observability workload in status yet"
        if not isinstance(ready, int) or ready < desired:
            return False, f"observability {ready or 0}/{desired} ready"
        return True, f"observability {ready}/{desired} ready"
    if workloads_left:
        return False, f"{workloads_left} observability workload(s) still present"
    return True, "observability removed"


def _env_path(namespace: str, name: str) -> str:
    return f"/apis/{constants.API_VERSION}/namespaces/{namespace}/{constants.ENVIRONMENT_PLURAL}/{name}"


def _observability_workloads(kube, namespace: str, name: str) -> int:
    selector = f"{constants.LABEL_ENVIRONMENT}={name},{constants.LABEL_COMPONENT}={constants.COMPONENT_OBSERVABILITY}"
    return sum(len(kube.request("GET", path.format(ns=namespace), query=[("labelSelector", selector)])
                   .get("items") or []) for path in WORKLOAD_PATHS)


def run_observability(args: argparse.Namespace, *, sleep: Callable[[float], None] = time.sleep,
                      clock: Callable[[], float] = time.monotonic) -> int:
    from parity.cli.kubeclient import connect
    from parity.kube.client import KubeError

    if args.action not in ACTIONS:
        raise CliError(f"observability: {args.action!r} is not one of up, down")
    enabled = args.action == "up"
    where = f"{constants.ENVIRONMENT_KIND} {args.namespace}/{args.name}"
    kube = connect(args.context)
    try:
        path = _env_path(args.namespace, args.name)
        if kube.get(path) is None:
            raise CliError(f"{where} not found at {kube.host} "
                           f"(kubectl get {constants.ENVIRONMENT_SHORT_NAME} -n {args.namespace})")
        kube.request("PATCH", path, body={"spec": {"observability": {"enabled": enabled}}},
                     content_type="application/merge-patch+json")
        print(f"{where}: spec.observability.enabled={str(enabled).lower()}; waiting for the operator", file=sys.stderr)
        deadline = clock() + args.timeout
        last = ""
        while True:
            obj = kube.get(path)
            if obj is None:
                raise CliError(f"{where} was deleted while waiting")
            left = 0 if enabled else _observability_workloads(kube, args.namespace, args.name)
            done, message = observability_progress(obj, enabled, left)
            if done:
                print(f"{where}: {message}")
                return EXIT_OK
            if message != last:
                print(f"  {message}", file=sys.stderr)
                last = message
            if clock() >= deadline:
                raise CliError(f"{where}: not done after {args.timeout:.0f}s: {message} "
                               f"(kubectl describe {constants.ENVIRONMENT_SHORT_NAME} {args.name} -n {args.namespace})")
            sleep(2.0)
    except KubeError as err:
        raise CliError(f"{kube.host}: {err}") from None
    finally:
        kube.close()
