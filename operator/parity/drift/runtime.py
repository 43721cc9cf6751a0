"""Runtime level: what the running services report against what the spec says.

Each probe value (drift/../probes/base.py: ProbeResult.values, keyed by spec paths such as
`postgres.parameters.max_connections`) is compared by meaning with the environment's spec
value at that path. A difference means someone changed the running service by hand
(ALTER SYSTEM, patronictl edit-config, CONFIG SET, SENTINEL SET, scaling members). A path
the spec does not define (after defaults) is skipped: there is nothing desired to compare
with. Versions match on their leading components, so a spec `16` matches a server `16.4`.

Settings a service has accepted but not applied yet (ProbeResult.pending_restart: names of
PostgreSQL parameters, or full spec paths) are findings too, or a note on the finding for the
same path. A probe that failed is one finding `runtime.<component>.probe` naming the
endpoint and the error; its severity is warning unless a baseline rule matches that path.

Finding fields: `local` is the effective value, `baseline` the baseline's value at that path
when the baseline defines one, otherwise the spec's value.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Iterable

from parity import constants
from parity.api.models import BaselineSpec, EnvironmentSpec
from parity.drift.finding import (
    COMPONENT_OPERATOR,
    Finding,
    component_of_name,
    component_of_path,
    quote_value,
    render_value,
)
from parity.drift.normalize import equivalent, kind_of_segments, same
from parity.drift.paths import Key, Segment, render_path, resolve
from parity.drift.rules import FALLBACK_SEVERITY, assess_all
from parity.probes.base import ProbeResult

PENDING_RESTART = "pending restart"
_SENTINEL_OPTIONS = {
    "quorum": "quorum",
    "downAfterMilliseconds": "down-after-milliseconds",
    "failoverTimeout": "failover-timeout",
    "parallelSyncs": "parallel-syncs",
}


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _version_parts(value: Any) -> list[str]:
    text = str(value).strip().lower()
    if text.startswith("v"):
        text = text[1:]
    return [p for p in re.split(r"[.\s-]", text) if p]


def versions_match(a: Any, b: Any) -> bool:
    """Whether two versions agree on the components both give (`16` and `16.4` do). Symmetric."""
    pa, pb = _version_parts(a), _version_parts(b)
    if not pa or not pb:
        return str(a).strip() == str(b).strip()
    n = min(len(pa), len(pb))
    return pa[:n] == pb[:n]


def _same(segments: tuple[Segment, ...], effective: Any, desired: Any) -> bool:
    # Most probed values are spelled as the spec spells them: no need to read them by kind.
    if same(effective, desired):
        return True
    if segments and segments[-1] == Key("version"):
        return versions_match(effective, desired)
    return equivalent(effective, desired, kind_of_segments(segments))


def _keys(segments: tuple[Segment, ...]) -> list[str]:
    return [s.name for s in segments if isinstance(s, Key)]


def describe_runtime(segments: tuple[Segment, ...], effective: Any, desired: Any, env: EnvironmentSpec) -> str:
    """The built-in remediation: how to put the running service back, or keep what it runs."""
    path = render_path(segments)
    keys = _keys(segments)
    got, want = render_value(effective, 80), render_value(desired, 80)
    head = f"{path} is {got} at runtime but the spec says {want}"
    keep = f"or set spec.{path} to {quote_value(effective)} to keep it"
    if keys[:2] == ["postgres", "parameters"] and len(keys) > 2:
        name = keys[2]
        return (
            f'{head}: someone ran ALTER SYSTEM or patronictl edit-config; run "ALTER SYSTEM RESET {name}; '
            f'SELECT pg_reload_conf()" on the primary and "patronictl edit-config --set '
            f'postgresql.parameters.{name}={want}", {keep}'
        )
    if keys[:2] == ["postgres", "patroni"] and len(keys) > 2:
        return (
            f'{head}: someone ran patronictl edit-config; run "patronictl edit-config --set '
            f'{_snake(keys[2])}={want}", {keep}'
        )
    if keys[:2] == ["redis", "config"] and len(keys) > 2:
        return (
            f'{head}: someone ran CONFIG SET; run "CONFIG SET {keys[2]} {want}" and "CONFIG REWRITE" on every '
            f"Redis node, {keep}"
        )
    if keys[:2] == ["redis", "sentinel"] and len(keys) > 2 and keys[2] in _SENTINEL_OPTIONS:
        master = env.redis.sentinel.master_group_name
        return (
            f'{head}: someone ran SENTINEL SET; run "SENTINEL SET {master} {_SENTINEL_OPTIONS[keys[2]]} {want}" '
            f"on every Sentinel, {keep}"
        )
    if keys and keys[-1] == "replicas":
        return (
            f"{head}: members were added or removed by hand; scale back to {want} (with spec.drift.policy "
            f"enforce the operator re-applies the desired objects), {keep}"
        )
    if keys and keys[-1] == "version":
        return (
            f"{head}: the pods run another image than the spec asks for; check spec.{keys[0]}.image and the "
            f"live objects (parity diff -n NAMESPACE NAME), {keep}"
        )
    return f"{head}: the running service was changed by hand; restore {want}, {keep}"


def _pending_path(name: str) -> str:
    head = name.split(".", 1)[0]
    if "." in name and head in constants.COMPONENTS + (constants.COMPONENT_SENTINEL,):
        return name
    return render_path((Key("postgres"), Key("parameters"), Key(name)))


def _resolve_spec(env_wire: dict, path: str) -> tuple[bool, Any, tuple[Segment, ...]]:
    """The spec value at a probe path. PostgreSQL parameter names are case-insensitive
    (pg_settings says `DateStyle`, a spec may say `datestyle`), so they are matched that way."""
    found, value, segments = resolve(env_wire, path)
    if found:
        return found, value, segments
    prefix = "postgres.parameters."
    if path.startswith(prefix):
        wanted = path[len(prefix):].lower()
        parameters = env_wire.get("postgres", {}).get("parameters", {})
        for key, value in parameters.items():
            if key.lower() == wanted:
                return True, value, (Key("postgres"), Key("parameters"), Key(key))
    return False, None, segments


def _member_of(result: ProbeResult, path: str) -> str | None:
    """The running member a value at `path` was read from, as the probe's details say."""
    details = result.details if isinstance(result.details, dict) else {}
    if path.startswith("postgres.parameters."):
        source = details.get("leader")
    elif path.startswith("redis.config."):
        source = details.get("configSource")
    elif path.startswith("redis.sentinel."):
        source = details.get("sentinelSource")
    else:
        source = None
    return str(source) if source else None


def _scope(result: ProbeResult) -> str:
    for key in ("scope", "cluster"):
        value = result.details.get(key) if isinstance(result.details, dict) else None
        if value:
            return str(value)
    return "<cluster>"


def evaluate_runtime(
    results: Iterable[ProbeResult],
    env: EnvironmentSpec,
    baseline: BaselineSpec | None = None,
    baseline_name: str = "",
) -> list[Finding]:
    env_wire = env.sections().to_wire()
    base_wire = baseline.environment.to_wire() if baseline is not None else None
    findings: dict[str, Finding] = {}
    probe_failures: dict[str, Finding] = {}

    def expected(segments: tuple[Segment, ...], desired: Any) -> Any:
        if base_wire is not None:
            found, value, _ = resolve(base_wire, segments)
            if found:
                return value
        return desired

    for result in results or ():
        if not isinstance(result, ProbeResult):
            continue
        if result.error is not None:
            path = render_path((Key("runtime"), Key(str(result.component)), Key("probe")))
            message = f"could not probe {result.component} at {result.endpoint}: {result.error}"
            previous = probe_failures.get(path)
            if previous is not None:
                probe_failures[path] = dataclasses.replace(
                    previous, remediation=f"{previous.remediation}; {message}"
                )
                continue
            probe_failures[path] = Finding(
                path=path,
                component=component_of_name(str(result.component)) or COMPONENT_OPERATOR,
                level="runtime",
                change="modified",
                local=str(result.error),
                remediation=(
                    f"{message}; runtime drift is unknown until the probe succeeds: check that the service runs "
                    f"and that the operator can reach it"
                ),
            )
            continue

        for raw_path, effective in (result.values or {}).items():
            found, desired, segments = _resolve_spec(env_wire, str(raw_path))
            if not found or not segments or _same(segments, effective, desired):
                continue
            path = render_path(segments)
            findings[path] = Finding(
                path=path,
                component=component_of_path(_keys(segments)[:2]),
                level="runtime",
                change="modified",
                local=effective,
                baseline=expected(segments, desired),
                remediation=describe_runtime(segments, effective, desired, env),
                member=_member_of(result, path),
            )

        for name in result.pending_restart or ():
            found, desired, segments = _resolve_spec(env_wire, _pending_path(str(name)))
            path = render_path(segments) if found else _pending_path(str(name))
            note = (
                f'{path} was changed but PostgreSQL applies it only after a restart (pending_restart); run '
                f'"patronictl restart {_scope(result)} --pending" or let the operator roll the pods'
            )
            if path in findings:
                previous = findings[path]
                findings[path] = dataclasses.replace(previous, remediation=f"{previous.remediation}; {note}")
                continue
            findings[path] = Finding(
                path=path,
                component=component_of_path(path.split(".")[:2]),
                level="runtime",
                change="modified",
                local=PENDING_RESTART,
                baseline=expected(segments, desired) if found else None,
                remediation=note,
            )

    # A baseline rule's remediation speaks of the spec ("make work_mem match production"); a
    # runtime finding must also say how to undo the change in the running service: keep both.
    found = list(findings.values())
    assessed = [_keep_command(f, a) for f, a in zip(found, assess_all(found, baseline, baseline_name))]
    assessed += assess_all(list(probe_failures.values()), baseline, baseline_name, default=FALLBACK_SEVERITY)
    return assessed


def _keep_command(found: Finding, assessed: Finding) -> Finding:
    if assessed.remediation == found.remediation or not found.remediation:
        return assessed
    return dataclasses.replace(assessed, remediation=f"{found.remediation}. Baseline: {assessed.remediation}")
