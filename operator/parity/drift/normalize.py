"""Compare values by meaning rather than by spelling.

`256MB`, `262144kB` and `32768` are the same shared_buffers; `on` and `true` are the same
PostgreSQL boolean; `1gb` is Redis for 1073741824 bytes; `1Gi` and `1024Mi` are the same
Kubernetes quantity; `"5"` and `5` are the same number. Every value is turned into a
canonical form (a tagged tuple, so that `True` never equals `1`) and two values are
equivalent when their canonical forms are equal, which makes equivalence symmetric by
construction. Nothing here raises: a value that cannot be read is compared as text.

Which reading applies depends on where the value sits (`kind_of_path`):
- `postgres.parameters.<name>`: PostgreSQL units from POSTGRES_UNITS (a bare number is in the
  parameter's base unit, as pg_settings reports it; integer parameters are rounded to a whole
  base unit like PostgreSQL does; for other parameters only values that spell out a unit are
  read as amounts), booleans for POSTGRES_BOOLEANS (and any value spelled as a boolean word),
  otherwise numbers or text;
- `redis.config.<name>`: Redis memory units (`k`=1000, `kb`=1024, ..., case-insensitive),
  `yes`/`no`, case-insensitive words, compared token by token for multi-word values;
- anything under `resources`, `postgres.storage.size`, `sizeLimit`, `storage`: Kubernetes quantities;
- everything else: numbers (also when written as strings), `true`/`false`, text.
"""

from __future__ import annotations

import decimal
import re
from decimal import Decimal
from typing import Any

from parity.drift.paths import Key, Segment, parse_path

KIND_GENERIC = "generic"
KIND_QUANTITY = "quantity"
KIND_REDIS = "redis"
POSTGRES_KIND_PREFIX = "postgres:"

_PRECISION = decimal.Context(prec=60, Emax=10**6, Emin=-(10**6))
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")

# Base unit of PostgreSQL parameters that take one, as pg_settings.unit reports it, and
# whether the parameter is a real (not rounded to a whole unit).
POSTGRES_UNITS: dict[str, tuple[str, bool]] = {
    # memory
    "shared_buffers": ("8kB", False),
    "effective_cache_size": ("8kB", False),
    "wal_buffers": ("8kB", False),
    "temp_buffers": ("8kB", False),
    "checkpoint_flush_after": ("8kB", False),
    "backend_flush_after": ("8kB", False),
    "bgwriter_flush_after": ("8kB", False),
    "wal_writer_flush_after": ("8kB", False),
    "min_parallel_table_scan_size": ("8kB", False),
    "min_parallel_index_scan_size": ("8kB", False),
    "work_mem": ("kB", False),
    "maintenance_work_mem": ("kB", False),
    "autovacuum_work_mem": ("kB", False),
    "logical_decoding_work_mem": ("kB", False),
    "max_stack_depth": ("kB", False),
    "temp_file_limit": ("kB", False),
    "log_rotation_size": ("kB", False),
    "gin_pending_list_limit": ("kB", False),
    "wal_skip_threshold": ("kB", False),
    "log_parameter_max_length": ("B", False),
    "track_activity_query_size": ("B", False),
    "max_wal_size": ("MB", False),
    "min_wal_size": ("MB", False),
    "wal_keep_size": ("MB", False),
    "max_slot_wal_keep_size": ("MB", False),
    "min_dynamic_shared_memory": ("MB", False),
    # time
    "statement_timeout": ("ms", False),
    "lock_timeout": ("ms", False),
    "idle_in_transaction_session_timeout": ("ms", False),
    "idle_session_timeout": ("ms", False),
    "deadlock_timeout": ("ms", False),
    "log_min_duration_statement": ("ms", False),
    "log_min_duration_sample": ("ms", False),
    "log_autovacuum_min_duration": ("ms", False),
    "wal_receiver_timeout": ("ms", False),
    "wal_sender_timeout": ("ms", False),
    "wal_retrieve_retry_interval": ("ms", False),
    "wal_writer_delay": ("ms", False),
    "bgwriter_delay": ("ms", False),
    "max_standby_streaming_delay": ("ms", False),
    "max_standby_archive_delay": ("ms", False),
    "recovery_min_apply_delay": ("ms", False),
    "vacuum_cost_delay": ("ms", True),
    "autovacuum_vacuum_cost_delay": ("ms", True),
    "checkpoint_timeout": ("s", False),
    "checkpoint_warning": ("s", False),
    "archive_timeout": ("s", False),
    "autovacuum_naptime": ("s", False),
    "authentication_timeout": ("s", False),
    "wal_receiver_status_interval": ("s", False),
    "tcp_keepalives_idle": ("s", False),
    "tcp_keepalives_interval": ("s", False),
    "tcp_user_timeout": ("ms", False),
    "log_rotation_age": ("min", False),
}

POSTGRES_BOOLEANS = frozenset({
    "autovacuum", "fsync", "full_page_writes", "hot_standby", "hot_standby_feedback", "wal_log_hints",
    "wal_compression", "ssl", "jit", "track_io_timing", "track_counts", "track_activities",
    "track_wal_io_timing", "log_checkpoints", "log_connections", "log_disconnections", "log_lock_waits",
    "log_duration", "log_hostname", "logging_collector", "log_truncate_on_rotation", "data_checksums",
    "enable_seqscan", "enable_indexscan", "enable_bitmapscan", "enable_hashjoin", "enable_mergejoin",
    "enable_nestloop", "enable_sort", "enable_hashagg", "enable_partitionwise_join",
    "enable_partitionwise_aggregate", "enable_parallel_hash", "enable_parallel_append",
    "synchronize_seqscans", "standard_conforming_strings", "check_function_bodies",
    "default_transaction_read_only", "row_security", "restart_after_crash",
    "remove_temp_files_after_crash", "summarize_wal", "allow_system_table_mods", "parallel_leader_participation",
    "zero_damaged_pages", "ignore_checksum_failure", "update_process_title", "quote_all_identifiers",
})

_MEMORY_UNITS = {"B": 1, "kB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}
_TIME_UNITS = {"us": Decimal("0.001"), "ms": 1, "s": 1000, "min": 60_000, "h": 3_600_000, "d": 86_400_000}
_BASE_FACTORS = {"8kB": 8192, **_MEMORY_UNITS, **_TIME_UNITS}

_PG_TRUE = ("on", "true", "yes", "1")
_PG_FALSE = ("off", "false", "no", "0")
_PG_VALUE = re.compile(r"^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*([A-Za-z]*)\s*$")

_REDIS_MEMORY = re.compile(r"^([+-]?\d+)(b|k|kb|m|mb|g|gb)?$")
_REDIS_FACTORS = {
    None: 1, "b": 1, "k": 1000, "kb": 1024, "m": 1000**2, "mb": 1024**2, "g": 1000**3, "gb": 1024**3,
}

_QUANTITY = re.compile(r"^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$")
_QUANTITY_FACTORS = {
    None: Decimal(1), "Ki": Decimal(2**10), "Mi": Decimal(2**20), "Gi": Decimal(2**30), "Ti": Decimal(2**40),
    "Pi": Decimal(2**50), "Ei": Decimal(2**60), "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"),
    "k": Decimal("1e3"), "M": Decimal("1e6"), "G": Decimal("1e9"), "T": Decimal("1e12"), "P": Decimal("1e15"),
    "E": Decimal("1e18"),
}


def _decimal(text: str) -> Decimal | None:
    try:
        value = Decimal(text)
    except (decimal.InvalidOperation, ValueError, TypeError):
        return None
    return value if value.is_finite() else None


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return _decimal(repr(value))
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, str) and _NUMBER.match(value.strip()):
        return _decimal(value.strip())
    return None


def _text(value: Any) -> tuple:
    try:
        return ("text", value if isinstance(value, str) else repr(value))
    except Exception:  # noqa: BLE001 - a repr that raises is still a value we must compare
        return ("text", object.__repr__(value))


def _generic(value: Any) -> tuple:
    if value is None:
        return ("none",)
    if isinstance(value, bool):
        return ("bool", value)
    number = _number(value)
    if number is not None:
        return ("num", number)
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "false"):
            return ("bool", lowered == "true")
        return ("text", value.strip())
    return _text(value)


def _postgres_bool(value: Any, *, loose: bool) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and loose and value in (0, 1):
        return bool(value)
    if not isinstance(value, str):
        return None
    word = value.strip().strip("'").lower()
    if not word:
        return None
    if loose:
        # PostgreSQL accepts any unambiguous prefix ("t", "of"); "o" alone is ambiguous.
        if word == "1" or any(w.startswith(word) for w in _PG_TRUE[:3]) and word not in ("o",):
            return True
        if word == "0" or any(w.startswith(word) for w in _PG_FALSE[:3]) and word not in ("o",):
            return False
        return None
    if word in _PG_TRUE[:3]:
        return True
    if word in _PG_FALSE[:3]:
        return False
    return None


def _postgres(name: str, value: Any) -> tuple:
    name = name.lower()
    boolean = _postgres_bool(value, loose=name in POSTGRES_BOOLEANS)
    if boolean is not None:
        return ("bool", boolean)
    unit = POSTGRES_UNITS.get(name)
    if unit is not None:
        base, real = unit
        parsed = _postgres_quantity(value, base, real)
        if parsed is not None:
            return parsed
    else:
        # Unknown base unit: values that spell out a unit still compare ("5min" == "300s");
        # a bare number stays a plain number, since its unit is not known.
        parsed = _postgres_absolute(value)
        if parsed is not None:
            return parsed
    if isinstance(value, str):
        stripped = value.strip()
        if len(stripped) >= 2 and stripped[0] == stripped[-1] == "'":
            stripped = stripped[1:-1]
        return _generic(stripped)
    return _generic(value)


def _postgres_quantity(value: Any, base: str, real: bool) -> tuple | None:
    base_factor = _BASE_FACTORS[base]
    memory = base == "8kB" or base in _MEMORY_UNITS
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        amount, unit = _number(value), ""
    elif isinstance(value, str):
        m = _PG_VALUE.match(value.strip().strip("'"))
        if not m:
            return None
        amount, unit = _decimal(m.group(1)), m.group(2)
    else:
        return None
    if amount is None:
        return None
    with decimal.localcontext(_PRECISION):
        if unit == "":
            base_units = amount
        else:
            table = _MEMORY_UNITS if memory else _TIME_UNITS
            if unit not in table:
                return None
            base_units = amount * Decimal(table[unit]) / Decimal(base_factor)
        if not real:
            base_units = base_units.to_integral_value(rounding=decimal.ROUND_HALF_EVEN)
        total = base_units * Decimal(base_factor)
    return ("bytes" if memory else "ms", total)


def _postgres_absolute(value: Any) -> tuple | None:
    if not isinstance(value, str):
        return None
    m = _PG_VALUE.match(value.strip().strip("'"))
    if not m or not m.group(2):
        return None
    amount, unit = _decimal(m.group(1)), m.group(2)
    if amount is None:
        return None
    with decimal.localcontext(_PRECISION):
        if unit in _MEMORY_UNITS:
            return ("bytes", amount * Decimal(_MEMORY_UNITS[unit]))
        if unit in _TIME_UNITS:
            return ("ms", amount * Decimal(_TIME_UNITS[unit]))
    return None


def _redis_token(token: str) -> tuple:
    m = _REDIS_MEMORY.match(token)
    if m:
        return ("num", Decimal(int(m.group(1)) * _REDIS_FACTORS[m.group(2)]))
    if token in ("yes", "no"):
        return ("bool", token == "yes")
    number = _number(token)
    if number is not None:
        return ("num", number)
    return ("text", token)


def _redis(value: Any) -> tuple:
    if isinstance(value, bool):
        return ("bool", value)
    number = _number(value)
    if number is not None and not isinstance(value, str):
        return ("num", number)
    if not isinstance(value, str):
        return _generic(value)
    tokens = value.strip().lower().split()
    if len(tokens) == 1:
        return _redis_token(tokens[0])
    return ("words", tuple(_redis_token(t) for t in tokens))


def parse_quantity(value: Any) -> Decimal | None:
    """A Kubernetes quantity as a number (`1Gi` -> 1073741824, `500m` -> 0.5), or None."""
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return _number(value)
    if not isinstance(value, str):
        return None
    m = _QUANTITY.match(value.strip())
    if not m:
        return None
    amount = _decimal(m.group(1))
    if amount is None:
        return None
    suffix = m.group(2)
    with decimal.localcontext(_PRECISION):
        if suffix and suffix[0] in "eE" and len(suffix) > 1:
            exponent = int(suffix[1:])
            if abs(exponent) > 10_000:
                return None
            return amount.scaleb(exponent)
        return amount * _QUANTITY_FACTORS[suffix]


def _quantity(value: Any) -> tuple:
    number = parse_quantity(value)
    if number is not None:
        return ("num", number)
    return _generic(value)


def canonical(value: Any, kind: str = KIND_GENERIC) -> tuple:
    """The canonical form of a value for a kind (see kind_of_path). Never raises."""
    try:
        if isinstance(value, dict):
            return ("map", tuple(sorted((str(k), canonical(v, kind)) for k, v in value.items())))
        if isinstance(value, (list, tuple)):
            return ("list", tuple(canonical(v, kind) for v in value))
        if kind.startswith(POSTGRES_KIND_PREFIX):
            return _postgres(kind[len(POSTGRES_KIND_PREFIX):], value)
        if kind == KIND_REDIS:
            return _redis(value)
        if kind == KIND_QUANTITY:
            return _quantity(value)
        return _generic(value)
    except Exception:  # noqa: BLE001 - garbage is compared as text, never fails a reconcile
        return _text(value)


_POSTGRES, _PARAMETERS, _REDIS, _CONFIG = Key("postgres"), Key("parameters"), Key("redis"), Key("config")


def kind_of_segments(segments: tuple[Segment, ...]) -> str:
    if len(segments) >= 3 and segments[0] == _POSTGRES and segments[1] == _PARAMETERS:
        last = segments[2]
        if isinstance(last, Key):
            return POSTGRES_KIND_PREFIX + last.name
    if len(segments) >= 3 and segments[0] == _REDIS and segments[1] == _CONFIG:
        return KIND_REDIS
    names = [s.name for s in segments if isinstance(s, Key)]
    if "resources" in names or (names[:3] == ["postgres", "storage", "size"]):
        return KIND_QUANTITY
    if segments and isinstance(segments[-1], Key) and segments[-1].name in ("sizeLimit", "storage"):
        return KIND_QUANTITY
    return KIND_GENERIC


def kind_of_path(path: str | tuple[Segment, ...]) -> str:
    """Which reading applies to the value at a finding path."""
    try:
        segments = parse_path(path) if isinstance(path, str) else tuple(path)
        return kind_of_segments(segments)
    except Exception:  # noqa: BLE001
        return KIND_GENERIC


def same(a: Any, b: Any) -> bool:
    """Equal values of equal types at every depth: 1, 1.0 and True differ (their spelling is
    then judged by normalisation), and so do a list and a map. Same values are equivalent
    whatever their kind, so this cheap test can come before `equivalent`."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def equivalent(a: Any, b: Any, kind: str = KIND_GENERIC) -> bool:
    """Whether two values mean the same. Symmetric; never raises."""
    try:
        return canonical(a, kind) == canonical(b, kind)
    except Exception:  # noqa: BLE001
        return _text(a) == _text(b)


def equivalent_at(path: str | tuple[Segment, ...], a: Any, b: Any) -> bool:
    return equivalent(a, b, kind_of_path(path))


def format_postgres_setting(setting: Any, unit: str | None) -> str:
    """pg_settings (setting, unit) as a value PostgreSQL would accept: ('16384', '8kB') -> '131072kB'.

    For probes: a value with its unit spelled out compares correctly with the spec whatever the
    parameter's entry in POSTGRES_UNITS says.
    """
    if not unit:
        return str(setting)
    amount = _number(setting)
    if amount is None:
        return str(setting)
    if unit == "8kB":
        return f"{amount * 8}kB"
    return f"{amount}{unit}"
