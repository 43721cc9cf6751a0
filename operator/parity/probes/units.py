"""The form probe values take, so the drift engine compares them with the spec by meaning.

The drift engine's normaliser (parity.drift.normalize) owns the comparison; the probes only hand
it values it reads unambiguously: PostgreSQL values with their unit spelled out (pg_settings'
setting=16384 unit=8kB becomes "131072kB", 300 s becomes "300s") through the engine's own
`format_postgres_setting`, booleans as bool, unitless numbers as int/float; Redis yes/no as bool
and plain integers as int.
"""

from __future__ import annotations

import re

from parity.drift.normalize import format_postgres_setting

_TRUE = {"on", "true", "yes", "1"}
_FALSE = {"off", "false", "no", "0"}


def normalize_pg_setting(setting: str | None, unit: str | None, vartype: str | None):
    """One pg_settings row (setting, unit, vartype) as a probe value."""
    if setting is None:
        return None
    if vartype == "bool":
        return setting.strip().lower() in _TRUE
    if vartype in ("integer", "real"):
        if unit:
            return format_postgres_setting(setting, unit)
        try:
            return int(setting) if vartype == "integer" else float(setting)
        except ValueError:
            return setting
    return setting


def normalize_redis_value(value: str | None):
    """A Redis CONFIG GET value: yes/no → bool, a plain integer → int, anything else as text."""
    if value is None:
        return None
    text = value.strip()
    lowered = text.lower()
    if lowered in ("yes", "no"):
        return lowered == "yes"
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return text


def parse_bool(value) -> bool | None:
    """A boolean the way Patroni's config accepts them (True, "on", "yes", ...)."""
    if isinstance(value, bool):
        return value
    if value is None:
        return None
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None
