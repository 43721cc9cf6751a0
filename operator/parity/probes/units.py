"""Canonical forms for what running services report, so probe values compare by meaning.

PostgreSQL reports `work_mem` as setting=65536 unit=kB and `checkpoint_timeout` as 300 s; Redis
reports `maxmemory` in bytes and booleans as yes/no. The probes turn these into one form:
memory → int bytes, time → int milliseconds (float when fractional), booleans → bool, integers →
int, reals → float, everything else → str. -1 (PostgreSQL's "disabled"/"use the other setting")
stays -1 whatever the unit.
"""

from __future__ import annotations

import re

MEMORY_UNITS = {"B": 1, "kB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}
TIME_UNITS_MS = {"us": 0.001, "ms": 1, "s": 1000, "min": 60_000, "h": 3_600_000, "d": 86_400_000}
_UNIT = re.compile(r"^\s*(\d*)\s*([A-Za-z]+)\s*$")
_TRUE = {"on", "true", "yes", "1"}
_FALSE = {"off", "false", "no", "0"}


def unit_factor(unit: str | None) -> tuple[str, float] | None:
    """('memory'|'time', factor to bytes or milliseconds) for a pg_settings unit such as `8kB`."""
    if not unit:
        return None
    match = _UNIT.match(unit)
    if not match:
        return None
    count = int(match.group(1) or 1)
    name = match.group(2)
    if name in MEMORY_UNITS:
        return "memory", count * MEMORY_UNITS[name]
    if name in TIME_UNITS_MS:
        return "time", count * TIME_UNITS_MS[name]
    return None


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def normalize_pg_setting(setting: str | None, unit: str | None, vartype: str | None):
    """One row of pg_settings (setting, unit, vartype) in canonical form."""
    if setting is None:
        return None
    if vartype == "bool":
        return setting.strip().lower() in _TRUE
    if vartype in ("integer", "real"):
        try:
            number = int(setting) if vartype == "integer" else float(setting)
        except ValueError:
            return setting
        if number == -1:
            return -1
        factor = unit_factor(unit)
        return _number(number * factor[1]) if factor else _number(number)
    return setting


def normalize_redis_value(value: str | None):
    """A Redis CONFIG GET value in canonical form: yes/no → bool, a plain integer → int."""
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
