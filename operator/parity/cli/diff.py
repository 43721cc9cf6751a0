"""`parity diff` and `parity validate`: drift against a baseline, from files or from the cluster.

    parity diff ENV.yaml --baseline BASELINE.yaml [--fail-on SEVERITY] [-o FORMAT]
    parity diff -n NAMESPACE NAME [--fail-on SEVERITY] [-o FORMAT]
    parity diff -n NAMESPACE NAME --baseline BASELINE.yaml [--fail-on SEVERITY] [-o FORMAT]
    parity validate FILE.yaml [--baseline BASELINE.yaml] [--fail-on SEVERITY] [-o FORMAT]

Exit codes: 0 nothing at or above the fail-on severity, 2 drift at or above it, 1 bad input
(the message names the file and field) or an unreachable cluster (the message names the
endpoint). fail-on precedence: --fail-on, then the environment's spec.drift.failOn (which
defaults to critical).

File mode compares declared configuration only (the live and runtime levels need a cluster);
cluster mode shows what the operator last wrote to the ParityEnvironment's status.drift, all
three levels. Cluster mode exits 1, naming the reason, when that verdict is unknown (no usable
baseline, a level failed) or was computed for an older generation of the spec.
Cluster mode with --baseline (`make diff-staging`): when the file holds the baseline the
environment's spec.baselineRef names, that is the operator's verdict above; otherwise the live
environment's spec is compared with the file (declared level only, said on stderr).
"""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path
from typing import Any

from parity import constants
from parity.api.errors import SpecError, parse_baseline, parse_environment
from parity.render.checks import check_combinations
from parity.api.models import BaselineSpec, EnvironmentSpec
from parity.cli.main import EXIT_DRIFT, EXIT_ERROR, EXIT_OK, CliError
from parity.cli.yamlfile import STDIN, display_name, load_documents
from parity.drift.engine import DriftReport, evaluate_drift
from parity.drift.report import FORMATS, render, use_color
from parity.drift.rules import Rule, rules_of

def register(subparsers) -> None:
    diff = subparsers.add_parser(
        "diff",
        help="compare an environment with its baseline",
        description=(
            "Compare a ParityEnvironment with a ParityBaseline: two files (declared level), or a live "
            "environment's status (-n NAMESPACE NAME: declared, live and runtime levels). Exit code 0: no "
            "drift at or above --fail-on; 2: drift at or above it; 1: bad input, cluster unreachable, or (with -n) "
            "a verdict that is unknown or older than the spec."
        ),
    )
    diff.add_argument("target", metavar="ENV.yaml|NAME",
                      help="environment file (- for stdin), or the environment's name with -n")
    diff.add_argument("--baseline", "-b", metavar="BASELINE.yaml",
                      help="baseline file (- for stdin); with -n, the running environment is compared with it")
    diff.add_argument(
        "--namespace", "-n", metavar="NAMESPACE", help="read the live environment NAME from this namespace"
    )
    diff.add_argument("--context", metavar="CONTEXT", help="kubeconfig context (cluster mode)")
    _common(diff)
    diff.set_defaults(func=run_diff)

    validate = subparsers.add_parser(
        "validate",
        help="check a ParityEnvironment or ParityBaseline file (and its drift with --baseline)",
        description=(
            "Check that a file holds one valid ParityEnvironment or ParityBaseline. With --baseline, also "
            "compare the environment with it like `parity diff`, and fail (exit 1) when the environment's "
            "spec.baselineRef names another baseline."
        ),
    )
    validate.add_argument("target", metavar="FILE.yaml",
                          help="a ParityEnvironment or ParityBaseline manifest (- for stdin)")
    validate.add_argument("--baseline", "-b", metavar="BASELINE.yaml", help="baseline file to compare with")
    _common(validate)
    validate.set_defaults(func=run_validate)


def _common(parser: argparse.ArgumentParser) -> None:
    # Choices are checked in _check_choices, not by argparse, and usage errors exit 1: argparse's
    # own exit code 2 would read as "drift found" to a CI job.
    parser.add_argument(
        "--fail-on",
        metavar="{" + ",".join(constants.SEVERITIES) + "}",
        default=None,
        help="lowest severity that makes the exit code 2 (default: spec.drift.failOn, else critical)",
    )
    parser.add_argument(
        "-o", "--output", metavar="{" + ",".join(FORMATS) + "}", default="table", help="output format (default: table)"
    )
    parser.error = functools.partial(_usage_error, parser)  # type: ignore[method-assign]


def _usage_error(parser: argparse.ArgumentParser, message: str) -> None:
    parser.print_usage(sys.stderr)
    print(f"parity: {parser.prog.split()[-1]}: {message}", file=sys.stderr)
    sys.exit(EXIT_ERROR)


def _check_choices(args: argparse.Namespace) -> None:
    if args.fail_on is not None and args.fail_on not in constants.SEVERITIES:
        raise CliError(f"--fail-on: {args.fail_on!r} is not one of {', '.join(constants.SEVERITIES)}")
    if args.output not in FORMATS:
        raise CliError(f"--output: {args.output!r} is not one of {', '.join(FORMATS)}")


# ---- reading files -------------------------------------------------------------------------


def load_manifest(path: str, kinds: tuple[str, ...]) -> dict[str, Any]:
    """The one YAML document of a file (`-`: stdin), checked to be a parity.dev manifest of one of `kinds`."""
    documents = load_documents(path)
    path = display_name(path)
    expected = " or ".join(kinds)
    if not documents:
        raise CliError(f"{path}: is empty; expected one {expected} manifest")
    if len(documents) > 1:
        raise CliError(
            f"{path}: holds {len(documents)} YAML documents; put exactly one {expected} in the file"
        )
    doc = documents[0]
    if not isinstance(doc, dict):
        raise CliError(f"{path}: must be a {expected} manifest (a mapping with apiVersion, kind, metadata, spec)")
    kind = doc.get("kind")
    if kind not in kinds:
        got = f"is {kind!r}" if kind is not None else "is missing"
        raise CliError(f"{path}: kind: {got}; expected {expected}")
    api_version = doc.get("apiVersion")
    if api_version != constants.API_VERSION:
        got = f"is {api_version!r}" if api_version is not None else "is missing"
        raise CliError(f"{path}: apiVersion: {got}; expected {constants.API_VERSION}")
    metadata = doc.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise CliError(f"{path}: metadata: must be a mapping")
    if "spec" in doc and not isinstance(doc["spec"], dict):
        raise CliError(f"{path}: spec: must be a mapping")
    name = (metadata or {}).get("name")
    if name is not None and not isinstance(name, str):
        raise CliError(f"{path}: metadata.name: must be a string")
    return doc


def _name(doc: dict[str, Any], path: str) -> str:
    return str((doc.get("metadata") or {}).get("name") or ("stdin" if path == STDIN else Path(path).stem))


def _parse(doc: dict[str, Any], path: str) -> EnvironmentSpec | BaselineSpec:
    spec = doc.get("spec") or {}
    path = display_name(path)
    # metadata.name is checked when the file has one, as the CRD's rules would check it.
    name = (doc.get("metadata") or {}).get("name")
    try:
        if doc["kind"] == constants.ENVIRONMENT_KIND:
            env = parse_environment(spec, path, name=name)
            # The same checks the operator runs before it builds anything (Ready=False InvalidSpec).
            problems = check_combinations(env)
            if problems:
                raise SpecError(path, problems)
            return env
        return parse_baseline(spec, path, name=name)
    except SpecError as err:
        raise CliError(str(err)) from None


def read_environment(path: str, doc: dict[str, Any] | None = None) -> tuple[EnvironmentSpec, dict[str, Any]]:
    """`doc`: the file's manifest when it was read already (stdin can be read only once)."""
    doc = doc if doc is not None else load_manifest(path, (constants.ENVIRONMENT_KIND,))
    return _parse(doc, path), doc  # type: ignore[return-value]


def read_baseline(path: str) -> tuple[BaselineSpec, str]:
    doc = load_manifest(path, (constants.BASELINE_KIND,))
    return _parse(doc, path), _name(doc, path)  # type: ignore[return-value]


# ---- output and exit code ------------------------------------------------------------------


def _emit(report: DriftReport, args: argparse.Namespace, fail_on: str, *, rules: tuple[Rule, ...] | None = None,
          source: str | None = None) -> int:
    text = render(report, args.output, fail_on=fail_on, color=args.output == "table" and use_color(sys.stdout),
                  rules=rules, source=source)
    sys.stdout.write(text)
    if report.truncated and args.output != "table":
        print(
            f"parity: note: {report.truncated} more findings are counted in the summary but not kept in status",
            file=sys.stderr,
        )
    return EXIT_DRIFT if report.exceeds(fail_on) else EXIT_OK


def _fail_on(args: argparse.Namespace, spec_fail_on: str | None) -> str:
    return args.fail_on or spec_fail_on or "critical"


def _check_reference(env: EnvironmentSpec, env_path: str, baseline_name: str, *, strict: bool) -> None:
    ref = env.baseline_ref.name if env.baseline_ref is not None else None
    if ref is None or ref == baseline_name:
        return
    message = f"{display_name(env_path)}: spec.baselineRef.name is {ref!r} but the baseline file holds {baseline_name!r}"
    if strict:
        raise CliError(message)
    print(f"parity: warning: {message}", file=sys.stderr)


def _diff_files(args: argparse.Namespace, env_path: str, baseline_path: str, *, strict: bool,
                env_doc: dict[str, Any] | None = None) -> int:
    if env_path == baseline_path == STDIN:
        raise CliError("only one of the two files can be read from stdin (-)")
    env, _doc = read_environment(env_path, env_doc)
    baseline, baseline_name = read_baseline(baseline_path)
    _check_reference(env, env_path, baseline_name, strict=strict)
    report = evaluate_drift(env, baseline, baseline_name)
    source = None if env_path == STDIN else env_path
    return _emit(report, args, _fail_on(args, env.drift.fail_on), rules=rules_of(baseline), source=source)


def run_diff(args: argparse.Namespace) -> int:
    _check_choices(args)
    if args.namespace:
        if args.baseline:
            return _diff_live_against_file(args)
        return _diff_cluster(args)
    if args.context:
        raise CliError("--context needs -n NAMESPACE NAME (cluster mode)")
    if not args.baseline:
        raise CliError(
            f"{args.target}: --baseline BASELINE.yaml is required to diff a file "
            "(or use -n NAMESPACE NAME for a live environment)"
        )
    return _diff_files(args, args.target, args.baseline, strict=False)


def run_validate(args: argparse.Namespace) -> int:
    _check_choices(args)
    doc = load_manifest(args.target, (constants.ENVIRONMENT_KIND, constants.BASELINE_KIND))
    spec = _parse(doc, args.target)
    if args.baseline:
        if not isinstance(spec, EnvironmentSpec):
            raise CliError(
                f"{args.target}: kind: is {constants.BASELINE_KIND!r}; --baseline needs a {constants.ENVIRONMENT_KIND}"
            )
        return _diff_files(args, args.target, args.baseline, strict=True, env_doc=doc)
    verdict = f"{display_name(args.target)}: valid {doc['kind']} {_name(doc, args.target)!r}"
    if args.output == "table":
        print(verdict)
        return EXIT_OK
    # Machine formats still get a document (with no findings); the verdict goes to stderr.
    print(verdict, file=sys.stderr)
    sys.stdout.write(render(DriftReport.from_findings("", ()), args.output, fail_on=_fail_on(args, None)))
    return EXIT_OK


# ---- cluster mode --------------------------------------------------------------------------


def read_live_environment(namespace: str, name: str, context: str | None = None) -> dict[str, Any]:
    """The ParityEnvironment object from the cluster of the current kubeconfig."""
    from parity.kube import resources
    from parity.kube.client import Kube, KubeError

    try:
        kube = Kube.connect(context=context)
    except KubeError as err:
        raise CliError(str(err)) from None
    try:
        obj = kube.get(resources.ENVIRONMENT.object_path(name, namespace))
    except KubeError as err:
        if err.status == 0:
            raise CliError(str(err)) from None
        raise CliError(f"{kube.host}: reading {constants.ENVIRONMENT_PLURAL} {namespace}/{name}: {err}") from None
    finally:
        kube.close()
    if obj is None:
        raise CliError(
            f"{constants.ENVIRONMENT_KIND} {namespace}/{name} not found at {kube.host} "
            f"(kubectl get {constants.ENVIRONMENT_SHORT_NAME} -n {namespace})"
        )
    return obj


def live_report(obj: dict[str, Any], where: str) -> DriftReport:
    """The report in a ParityEnvironment's status.drift, refused (CliError) when there is none
    yet or when it was computed for an older generation of the spec than the current one."""
    status = obj.get("status") if isinstance(obj.get("status"), dict) else {}
    drift = status.get("drift")
    if not isinstance(drift, dict):
        raise CliError(f"{where}: status.drift is not set yet: the operator has not compared it with a baseline")
    generation = (obj.get("metadata") or {}).get("generation")
    if isinstance(generation, int):
        applied, compared = (g if isinstance(g, int) else 0
                             for g in (status.get("observedGeneration"), drift.get("observedGeneration")))
        if min(applied, compared) < generation:
            if compared < generation:
                what = (f"status.drift was computed for generation {compared} but the spec is at generation "
                        f"{generation}: the operator has not compared the current spec yet")
            else:
                what = (f"status.observedGeneration is {applied} but the spec is at generation {generation}: the "
                        "operator has not applied the current spec yet")
            stalled = next((c for c in status.get("conditions") or []
                            if isinstance(c, dict) and c.get("type") == constants.CONDITION_STALLED
                            and c.get("status") == "True"), None)
            why = f" (Stalled: {stalled.get('reason')}: {stalled.get('message')})" if stalled else ""
            name = (obj.get("metadata") or {}).get("name", "NAME")
            raise CliError(f"{where}: {what}{why}; run again once it has caught up, or see "
                           f"kubectl describe {constants.ENVIRONMENT_SHORT_NAME} {name} (conditions, events)")
    return DriftReport.from_status(drift)


def _diff_live_against_file(args: argparse.Namespace) -> int:
    """The running environment against a baseline file: the operator's own verdict (all three
    levels) when the file is its baseline, else its live spec against the file (declared level)."""
    baseline, baseline_name = read_baseline(args.baseline)
    obj = read_live_environment(args.namespace, args.target, args.context)
    where = f"{constants.ENVIRONMENT_KIND} {args.namespace}/{args.target}"
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    ref = (spec.get("baselineRef") or {}).get("name") if isinstance(spec.get("baselineRef"), dict) else None
    if ref == baseline_name:
        return _diff_cluster(args)
    try:
        env = parse_environment(spec, where, name=args.target)
    except SpecError as err:
        raise CliError(str(err)) from None
    print(f"parity: note: {where} follows baseline {ref!r}, not {baseline_name!r}: its spec is compared with "
          f"{display_name(args.baseline)} (declared level only; the live and runtime levels are in the "
          f"operator's verdict against {ref!r}: parity diff -n {args.namespace} {args.target})", file=sys.stderr)
    report = evaluate_drift(env, baseline, baseline_name)
    return _emit(report, args, _fail_on(args, env.drift.fail_on), rules=rules_of(baseline),
                 source=f"{args.namespace}/{args.target}")


def _live_baseline_rules(name: str, context: str | None) -> tuple[Rule, ...] | None:
    """The rules of the cluster's ParityBaseline `name` (the built-in ones when it has none), for the
    SARIF rule ids; None when it cannot be read (each finding path then stands for its rule)."""
    if not name:
        return None
    from parity.api.errors import SpecError
    from parity.kube.client import Kube, KubeError

    try:
        kube = Kube.connect(context=context)
    except KubeError:
        return None
    try:
        obj = kube.get(f"/apis/{constants.API_VERSION}/{constants.BASELINE_PLURAL}/{name}")
        if not isinstance(obj, dict):
            return None
        return rules_of(parse_baseline(obj.get("spec") or {}, f"{constants.BASELINE_KIND} {name}", name=name))
    except (KubeError, SpecError):
        return None
    finally:
        kube.close()


def _diff_cluster(args: argparse.Namespace) -> int:
    obj = read_live_environment(args.namespace, args.target, args.context)
    where = f"{constants.ENVIRONMENT_KIND} {args.namespace}/{args.target}"
    report = live_report(obj, where)
    spec = obj.get("spec") or {}
    spec_fail_on = ((spec.get("drift") or {}) if isinstance(spec, dict) else {}).get("failOn")
    if spec_fail_on not in constants.SEVERITIES:
        spec_fail_on = None
    rules = _live_baseline_rules(report.baseline, args.context) if args.output == "sarif" else None
    code = _emit(report, args, _fail_on(args, spec_fail_on), rules=rules, source=f"{args.namespace}/{args.target}")
    cause = report.unknown_cause
    if cause is not None:
        # What was found is shown, but "no drift" (or "only this drift") cannot be claimed.
        message = ((obj.get("status") or {}).get("drift") or {}).get("message") or f"drift unknown: {cause.message}"
        raise CliError(f"{where}: {message}")
    return code
