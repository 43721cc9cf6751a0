"""Build a ParityBaseline from what a running environment declares and runs. Pure.

`capture_baseline(spec, probe_results, ...)` returns the baseline manifest and the notes a person
should read (a value that runs differently from the spec, a setting only the running service has).

What is recorded, section by section (the ParityEnvironment's spec is the starting point; the
drift engine compares both sides with defaults filled in, so fields left out stay left out):

- every value the probes report at a spec path (etcd and Redis versions and member counts, the
  PostgreSQL major version, Patroni's dynamic configuration, Sentinel settings, the Redis CONFIG
  and PostgreSQL parameters the spec sets) is the **effective** value: when it means the same as
  the spec's (`256mb` and `268435456`), the spec's spelling is kept; when it does not, the running
  value wins and a note says so (the environment then shows that drift against its own capture,
  which is true: it does not run its spec);
- PostgreSQL parameters the spec does not set are recorded when Patroni's dynamic configuration
  holds them (someone ran `patronictl edit-config`), or when pg_settings reports them changed
  from PostgreSQL's defaults by someone else than the platform: Patroni's command-line options
  (source `command line`) and the settings initdb and Patroni write for every member
  (PLATFORM_PARAMETERS) are the same for every environment the operator runs and are left out;
- Redis CONFIG keys the spec does not set are recorded when their value differs from Redis's
  default (REDIS_DEFAULTS);
- secret-bearing values (shown `<redacted>` by the probes) are never recorded.

So an environment that runs what its spec says diffs clean against its own capture, on the
declared and the runtime levels.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from parity import constants
from parity.api.errors import SpecError, parse_baseline, parse_environment
from parity.api.models import BaselineSpec
from parity.drift.normalize import equivalent_at
from parity.drift.runtime import versions_match
from parity.probes.base import ProbeResult

CAPTURED_FROM_ANNOTATION = f"{constants.GROUP}/captured-from"
CAPTURED_AT_ANNOTATION = f"{constants.GROUP}/captured-at"

# Set by initdb (postgresql.base.conf) or by Patroni (postgresql.conf, recovery settings) on every
# member of every environment, whatever the spec says: not a property of one environment.
PLATFORM_PARAMETERS = frozenset(
    name.lower()
    for name in (
        "DateStyle", "TimeZone", "lc_messages", "lc_monetary", "lc_numeric", "lc_time", "default_text_search_config",
        "dynamic_shared_memory_type", "log_timezone", "max_wal_size", "min_wal_size",
        "unix_socket_directories", "synchronous_standby_names", "wal_keep_size", "cluster_name",
        "listen_addresses", "port", "hot_standby", "data_directory", "config_file", "hba_file", "ident_file",
        "primary_conninfo", "primary_slot_name", "restore_command", "archive_cleanup_command",
        "promote_trigger_file",
    )
)
# Patroni writes the recovery settings (recovery_target, recovery_target_lsn, ...) on every member
# once it has run a failover or switchover, whatever the spec says.
PLATFORM_PREFIXES = ("recovery_",)
# Sources of pg_settings values the platform sets (Patroni passes these on the command line).
PLATFORM_SOURCES = frozenset({"command line"})
# Redis's own defaults for the keys the probe reads; a key the spec does not set is recorded only
# when the running value differs.
REDIS_DEFAULTS: dict[str, str] = {
    "maxmemory": "0",
    "maxmemory-policy": "noeviction",
    "appendonly": "no",
    "appendfsync": "everysec",
    "save": "3600 1 300 100 60 10000",
    "timeout": "0",
    "tcp-keepalive": "300",
    "min-replicas-to-write": "0",
}
# Probe values that are observations, not settings a spec holds.
NOT_SETTINGS = frozenset({"redis.sentinel.primaryAgreement"})
# Sections of an environment's spec that a baseline compares (the rest is the environment's own).
SECTIONS = ("etcd", "postgres", "redis", "observability")


@dataclass(frozen=True)
class Capture:
    manifest: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def _setting_text(value: Any, *, redis: bool = False) -> str:
    """A map value of a spec (parameters, config) is a string: `on`/`off` for PostgreSQL
    booleans, `yes`/`no` for Redis ones."""
    if isinstance(value, bool):
        if redis:
            return "yes" if value else "no"
        return "on" if value else "off"
    return str(value)


def _spec_key(keys: Iterable[str], name: str) -> str | None:
    """The key of `keys` that is `name`, PostgreSQL parameter names matched case-insensitively."""
    wanted = name.lower()
    return next((k for k in keys if k.lower() == wanted), None)


def _same(path: str, effective: Any, declared: Any) -> bool:
    if path.endswith(".version"):
        return versions_match(effective, declared)
    return equivalent_at(path, effective, declared)


def _settings(result: ProbeResult) -> Mapping[str, Mapping[str, Any]]:
    details = result.details if isinstance(result.details, dict) else {}
    settings = details.get("settings")
    return settings if isinstance(settings, dict) else {}


def _dcs_parameters(result: ProbeResult) -> Mapping[str, Any]:
    details = result.details if isinstance(result.details, dict) else {}
    parameters = details.get("dcsParameters")
    return parameters if isinstance(parameters, dict) else {}


def _place(sections: dict[str, Any], path: str, value: Any) -> None:
    """Set a dotted spec path (`postgres.patroni.ttl`) in `sections`; the last segment is the key."""
    head, _, key = path.rpartition(".")
    node = sections
    for part in head.split("."):
        node = node.setdefault(part, {})
    node[key] = value


def _lookup(sections: Mapping[str, Any], path: str) -> tuple[bool, Any]:
    node: Any = sections
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False, None
        node = node[part]
    return True, node


def capture_baseline(
    spec: Mapping[str, Any],
    probe_results: Iterable[ProbeResult],
    *,
    name: str,
    source: str,
    rules_from: BaselineSpec | None = None,
    captured_at: str | None = None,
) -> Capture:
    """A ParityBaseline manifest named `name` from an environment's `spec` (as written, camelCase)
    and its probe results (none: from the spec alone). `source` names the environment in notes and
    annotations; `rules_from` lends its rules, defaultSeverity and description (else the built-in
    rules apply). Raises ValueError naming the component when a probe failed (a capture without
    the running values would record the spec as if it ran), SpecError when the spec is invalid."""
    declared = parse_environment(dict(spec), f"ParityEnvironment {source}").sections().to_wire()
    sections: dict[str, Any] = {k: copy.deepcopy(spec[k]) for k in SECTIONS if isinstance(spec.get(k), dict)}
    notes: list[str] = []
    results = list(probe_results)
    failed = [r for r in results if r.error is not None]
    if failed:
        reasons = "; ".join(f"{r.component} at {r.endpoint}: {r.error}" for r in failed)
        raise ValueError(f"could not read the running services of {source}: {reasons}")

    for result in results:
        settings = _settings(result)
        dcs = _dcs_parameters(result)
        for path, effective in sorted((result.values or {}).items()):
            if path in NOT_SETTINGS or effective == constants.REDACTED or effective is None:
                continue
            if path.startswith("postgres.parameters."):
                _capture_parameter(sections, path.split(".", 2)[2], effective, settings, dcs, source, notes)
            elif path.startswith("redis.config."):
                _capture_redis_key(sections, path.split(".", 2)[2], effective, source, notes)
            else:
                _capture_value(sections, declared, path, effective, source, notes)
        # Parameters in Patroni's dynamic configuration that pg_settings did not report (at their
        # default value, or unknown to this server): what the cluster is told to run.
        parameters = sections.setdefault("postgres", {}).setdefault("parameters", {}) if dcs else {}
        for key, value in sorted(dcs.items()):
            if _spec_key(parameters, key) is None and value is not None:
                parameters[key] = _setting_text(value)
                notes.append(f"postgres.parameters.{key}: {value!r} is in Patroni's dynamic configuration of "
                             f"{source} but not in its spec; recorded")

    baseline_spec: dict[str, Any] = {"environment": sections}
    description = f"Captured from ParityEnvironment {source}"
    if rules_from is not None:
        wire = rules_from.to_wire()
        baseline_spec["defaultSeverity"] = wire.get("defaultSeverity", "warning")
        if wire.get("rules"):
            baseline_spec["rules"] = wire["rules"]
        if rules_from.description:
            description = f"{description}; rules: {rules_from.description}"
    baseline_spec["description"] = description
    try:
        parse_baseline(baseline_spec, f"captured ParityBaseline {name}", name=name)
    except SpecError as err:
        raise ValueError(str(err)) from None
    annotations = {CAPTURED_FROM_ANNOTATION: source}
    if captured_at:
        annotations[CAPTURED_AT_ANNOTATION] = captured_at
    manifest = {
        "apiVersion": constants.API_VERSION,
        "kind": constants.BASELINE_KIND,
        "metadata": {"name": name, "annotations": annotations},
        "spec": baseline_spec,
    }
    return Capture(manifest, notes)


def _capture_value(sections: dict[str, Any], declared: Mapping[str, Any], path: str, effective: Any, source: str,
                   notes: list[str]) -> None:
    """A value at a fixed spec path. `declared` is the spec with defaults filled in: a value the
    spec leaves at its default is recorded too, so that the baseline does not depend on defaults."""
    found, value = _lookup(declared, path)
    if not found:
        return  # not a field of the spec (an observation such as a count the spec cannot set)
    written, _ = _lookup(sections, path)
    if _same(path, effective, value):
        if not written:
            _place(sections, path, value)
        return
    _place(sections, path, effective)
    notes.append(f"{path}: {source} runs {effective!r} but its spec says {value!r}; the running value is recorded")


def _capture_parameter(sections: dict[str, Any], name: str, effective: Any, settings: Mapping[str, Any],
                       dcs: Mapping[str, Any], source: str, notes: list[str]) -> None:
    parameters = sections.setdefault("postgres", {}).setdefault("parameters", {})
    key = _spec_key(parameters, name)
    path = f"postgres.parameters.{key or name}"
    if key is not None:
        if _same(path, effective, parameters[key]):
            return
        notes.append(f"{path}: {source} runs {_setting_text(effective)!r} but its spec says {parameters[key]!r}; "
                     "the running value is recorded")
        parameters[key] = _setting_text(effective)
        return
    dcs_key = _spec_key(dcs, name)
    if dcs_key is not None:
        parameters[dcs_key] = _setting_text(dcs[dcs_key])
        notes.append(f"postgres.parameters.{dcs_key}: {dcs[dcs_key]!r} is in Patroni's dynamic configuration of "
                     f"{source} but not in its spec; recorded")
        return
    row = settings.get(name) if isinstance(settings.get(name), Mapping) else {}
    if name.lower() in PLATFORM_PARAMETERS or name.lower().startswith(PLATFORM_PREFIXES) or \
            row.get("source") in PLATFORM_SOURCES:
        return
    parameters[name] = _setting_text(effective)
    notes.append(f"{path}: {source} runs {_setting_text(effective)!r} (pg_settings source "
                 f"{row.get('source') or 'unknown'!r}) but its spec does not set it; recorded")


def _capture_redis_key(sections: dict[str, Any], key: str, effective: Any, source: str, notes: list[str]) -> None:
    config = sections.setdefault("redis", {}).setdefault("config", {})
    path = f"redis.config.{key}"
    if key in config:
        if _same(path, effective, config[key]):
            return
        notes.append(f"{path}: {source} runs {_setting_text(effective, redis=True)!r} but its spec says "
                     f"{config[key]!r}; the running value is recorded")
        config[key] = _setting_text(effective, redis=True)
        return
    default = REDIS_DEFAULTS.get(key)
    if default is not None and _same(path, effective, default):
        return
    config[key] = _setting_text(effective, redis=True)
    notes.append(f"{path}: {source} runs {config[key]!r} but its spec does not set it; recorded")
