"""`parity baseline capture` and `parity baseline diff`.

    parity baseline capture -n NAMESPACE NAME --as BASELINE [--context CTX] [--rules-from BASELINE.yaml] [--timeout S]
    parity baseline capture --from-spec ENV.yaml --as BASELINE [--rules-from BASELINE.yaml]
    parity baseline diff OLD.yaml NEW.yaml [--fail-on SEVERITY] [-o FORMAT]

capture prints a ParityBaseline (YAML) made from a running environment: its spec plus what its
services run, read with the same probes as the runtime level and `parity inspect`
(parity.baselines.capture says what is recorded). Notes (a value that runs differently from the
spec, a setting only the running service has) go to stderr. --from-spec does the same offline
from a ParityEnvironment file (spec only). Exit codes: 0 printed; 1 bad input, an unreachable
cluster or a service that could not be read (named).

diff shows what changed from OLD to NEW as the findings an environment that matches OLD gets
under NEW (parity.baselines.compare), in the output formats and with the exit codes of
`parity diff`: 0 nothing at or above --fail-on (default critical), 2 drift at or above it, 1
bad input. Rule changes are listed on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from datetime import datetime, timezone

from parity.api.models import DNS_SUBDOMAIN_PATTERN, BaselineSpec
from parity.baselines.capture import capture_baseline
from parity.baselines.compare import compare_baselines, rule_changes
from parity.cli import diff as diff_cli
from parity.cli.main import EXIT_DRIFT, EXIT_OK, CliError
from parity.drift.report import render, use_color
from parity.drift.rules import rules_of
from parity.render.common import dump_yaml


def register(subparsers) -> None:
    baseline = subparsers.add_parser(
        "baseline",
        help="capture a baseline from a running environment, compare two baselines",
        description="Capture a ParityBaseline from a running environment, or show what changed between two.",
    )
    commands = baseline.add_subparsers(dest="baseline_command", metavar="{capture,diff}",
                                       parser_class=type(baseline))
    commands.required = True

    capture = commands.add_parser(
        "capture",
        help="print a ParityBaseline made from a running environment (or a ParityEnvironment file)",
        description=(
            "Print (YAML) a ParityBaseline that records a running environment: its spec and the effective "
            "settings its services report (PostgreSQL parameters, Patroni's dynamic configuration, Redis CONFIG, "
            "Sentinel settings, etcd membership and version). Notes go to stderr."
        ),
    )
    capture.add_argument("target", metavar="NAME", nargs="?", help="the environment's name (with -n)")
    capture.add_argument("-n", "--namespace", metavar="NAMESPACE", help="the environment's namespace")
    capture.add_argument("--context", metavar="CONTEXT", help="kubeconfig context")
    capture.add_argument("--from-spec", metavar="ENV.yaml",
                         help="offline: a ParityEnvironment file (- for stdin) instead of a running environment")
    capture.add_argument("--as", dest="baseline_name", metavar="BASELINE", required=True,
                         help="metadata.name of the baseline to print (for example staging)")
    capture.add_argument("--rules-from", metavar="BASELINE.yaml",
                         help="take rules, defaultSeverity and description from this baseline file "
                              "(default: no rules, the built-in ones apply)")
    capture.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                         help="per-probe timeout (default: %(default)s)")
    capture.set_defaults(func=run_capture)

    compare = commands.add_parser(
        "diff",
        help="show what changed between two baselines",
        description=(
            "Show what changed from OLD to NEW: the findings an environment that matches OLD gets under NEW, "
            "rated by NEW's rules, in the formats of `parity diff`. Exit code 0: nothing at or above --fail-on; "
            "2: changes at or above it; 1: bad input."
        ),
    )
    compare.add_argument("old", metavar="OLD.yaml", help="the baseline before (- for stdin)")
    compare.add_argument("new", metavar="NEW.yaml", help="the baseline after (- for stdin)")
    diff_cli._common(compare)
    compare.set_defaults(func=run_baseline_diff)


# ---- capture ---------------------------------------------------------------------------------


def _check_name(name: str) -> None:
    if len(name) > 253 or not re.fullmatch(DNS_SUBDOMAIN_PATTERN, name):
        raise CliError(f"--as: {name!r} is not a valid baseline name (lower-case letters, digits, '-' and '.')")


def _rules_from(path: str | None) -> BaselineSpec | None:
    if path is None:
        return None
    baseline, _name = diff_cli.read_baseline(path)
    return baseline


def _probe_running(args: argparse.Namespace, rules_baseline: BaselineSpec | None) -> tuple[dict, list, str]:
    """(spec as written, probe results, "namespace/name") of the running environment: found and
    reached as `parity inspect -n` does (endpoint overrides from the caller's environment only)."""
    from parity.api.errors import SpecError
    from parity.kube.client import Kube, KubeError
    from parity.probes.collect import probe_services, read_cluster_targets
    from parity.probes.endpoints import EndpointError
    from parity.probes.redis import DEFAULT_CONFIG_KEYS

    try:
        kube = Kube.connect(context=args.context)
    except KubeError as err:
        raise CliError(str(err)) from None
    try:
        endpoints, credentials, spec, body = read_cluster_targets(kube, args.namespace, args.target)
    except (LookupError, EndpointError, SpecError) as err:
        raise CliError(str(err).replace("\n", "; ")) from None
    except KubeError as err:
        raise CliError(f"{kube.host}: {err}") from None
    finally:
        kube.close()
    # Every PostgreSQL parameter changed from its default (parameter_names=None); the Redis keys
    # the spec, the rules' baseline and the probe's defaults name.
    config_keys = set(DEFAULT_CONFIG_KEYS) | set(spec.redis.config)
    if rules_baseline is not None:
        config_keys |= set(rules_baseline.environment.redis.config)
    results = asyncio.run(probe_services(endpoints, credentials, parameter_names=None,
                                         config_keys=sorted(config_keys), timeout=args.timeout))
    return body.get("spec") or {}, results, f"{args.namespace}/{args.target}"


def run_capture(args: argparse.Namespace) -> int:
    _check_name(args.baseline_name)
    if args.from_spec:
        if args.namespace or args.target:
            raise CliError("--from-spec reads a file: give either --from-spec ENV.yaml or -n NAMESPACE NAME")
        if args.context:
            raise CliError("--context needs -n NAMESPACE NAME")
        _env, doc = diff_cli.read_environment(args.from_spec)
        spec, results = doc.get("spec") or {}, []
        namespace = (doc.get("metadata") or {}).get("namespace")
        name = diff_cli._name(doc, args.from_spec)
        source = f"{namespace}/{name}" if namespace else name
        rules_baseline = _rules_from(args.rules_from)
    else:
        if not args.namespace or not args.target:
            raise CliError("give -n NAMESPACE NAME (a running environment) or --from-spec ENV.yaml")
        rules_baseline = _rules_from(args.rules_from)  # bad file: fail before reaching the cluster
        spec, results, source = _probe_running(args, rules_baseline)
    captured_at = datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    try:
        capture = capture_baseline(spec, results, name=args.baseline_name, source=source,
                                   rules_from=rules_baseline, captured_at=captured_at)
    except ValueError as err:
        raise CliError(str(err).replace("\n", "; ")) from None
    for note in capture.notes:
        print(f"parity: note: {note}", file=sys.stderr)
    sys.stdout.write(dump_yaml(capture.manifest))
    return EXIT_OK


# ---- diff ------------------------------------------------------------------------------------


def run_baseline_diff(args: argparse.Namespace) -> int:
    diff_cli._check_choices(args)
    if args.old == args.new == "-":
        raise CliError("only one of the two files can be read from stdin (-)")
    old, _old_name = diff_cli.read_baseline(args.old)
    new, new_name = diff_cli.read_baseline(args.new)
    report = compare_baselines(old, new, new_name)
    fail_on = args.fail_on or "critical"
    text = render(report, args.output, fail_on=fail_on, color=args.output == "table" and use_color(sys.stdout),
                  rules=rules_of(new), source=None if args.new == "-" else args.new)
    sys.stdout.write(text)
    for line in rule_changes(old, new):
        print(f"parity: note: {line}", file=sys.stderr)
    return EXIT_DRIFT if report.exceeds(fail_on) else EXIT_OK

