"""One log line as the pod log API returns it with timestamps=true, and what it says about itself:
its level (in the formats etcd, Patroni, PostgreSQL, Redis/Sentinel and Prometheus/Grafana log in)
and the W3C trace id it carries, if any."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone

# Levels, lowest first; `--level warning` keeps warning and error.
LEVELS = ("debug", "info", "warning", "error")
LEVEL_RANK = {name: rank for rank, name in enumerate(LEVELS)}

_WORDS = {
    "trace": "debug", "debug": "debug", "dbug": "debug", "debug1": "debug", "debug2": "debug", "debug3": "debug",
    "debug4": "debug", "debug5": "debug",
    "info": "info", "information": "info", "notice": "info", "log": "info", "statement": "info", "detail": "info",
    "hint": "info", "context": "info",
    "warn": "warning", "warning": "warning",
    "error": "error", "eror": "error", "err": "error", "fatal": "error", "panic": "error", "critical": "error",
    "crit": "error", "dpanic": "error", "emerg": "error", "alert": "error",
}
# Redis and Sentinel: "1:M 03 Dec 2026 01:02:03.456 # message" — the mark after the time is the level.
_REDIS = re.compile(r"^\d+:[XCSM] \d{1,2} \w{3} \d{4} [\d:.]+ ([.\-*#]) ")
_REDIS_LEVELS = {".": "debug", "-": "debug", "*": "info", "#": "warning"}
# logfmt (Prometheus, Grafana, Go services): level=error, lvl=eror.
_LOGFMT = re.compile(r'(?:^|\s)(?:level|lvl|severity)="?([A-Za-z]+)"?(?:\s|$)')
# PostgreSQL ("... [123] ERROR:  ...", "FATAL:  ...") and Patroni / Python logging
# ("2026-12-03 01:02:03,456 WARNING: ..."): an upper-case level word followed by a colon.
_PREFIXED = re.compile(r"(?:^|\s)(DEBUG[1-5]?|INFO|NOTICE|LOG|WARNING|WARN|ERROR|FATAL|PANIC|CRITICAL|STATEMENT"
                       r"|DETAIL|HINT|CONTEXT):\s")

_TRACE_ID = r"[0-9a-fA-F]{32}"
_TRACEPARENT = re.compile(r"\b[0-9a-fA-F]{2}-(" + _TRACE_ID + r")-[0-9a-fA-F]{16}-[0-9a-fA-F]{2}\b")
_TRACE_FIELD = re.compile(r"""["']?(?:trace_?id|traceId|trace\.id|otelTraceID)["']?\s*[=:]\s*["']?(""" + _TRACE_ID
                          + r""")\b""", re.IGNORECASE)


@dataclass(frozen=True)
class LogLine:
    """A line of one container. `time` is None when the line had no timestamp the API added."""

    time: datetime | None
    component: str
    pod: str
    container: str
    message: str

    @property
    def source(self) -> str:
        return f"{self.component}/{self.pod}/{self.container}"


def parse_timestamp(text: str) -> datetime | None:
    """An RFC 3339 timestamp as the kubelet writes it (nanoseconds, Z or an offset), in UTC."""
    text = text.strip()
    match = re.fullmatch(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})", text)
    if not match:
        return None
    base, fraction, zone = match.groups()
    micro = (fraction or "0")[:6].ljust(6, "0")
    try:
        value = datetime.fromisoformat(f"{base}.{micro}{'+00:00' if zone == 'Z' else zone}")
    except ValueError:
        return None
    return value.astimezone(timezone.utc)


def split_kube_line(text: str) -> tuple[datetime | None, str]:
    """`2026-12-03T01:02:03.123456789Z message` -> (time, message); a line without the prefix
    (a continuation the runtime did not stamp) keeps its text and gets no time."""
    text = text.rstrip("\r\n")
    stamp, sep, rest = text.partition(" ")
    when = parse_timestamp(stamp) if sep or stamp else None
    if when is None:
        return None, text
    return when, rest


def detect_level(message: str) -> str | None:
    """debug, info, warning or error when the line says so in a format we know, else None."""
    stripped = message.lstrip()
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except ValueError:
            data = None
        if isinstance(data, dict):
            for key in ("level", "lvl", "severity", "levelname"):
                value = data.get(key)
                if isinstance(value, str) and value.lower() in _WORDS:
                    return _WORDS[value.lower()]
            return None
    match = _REDIS.match(stripped)
    if match:
        return _REDIS_LEVELS[match.group(1)]
    match = _LOGFMT.search(message)
    if match and match.group(1).lower() in _WORDS:
        return _WORDS[match.group(1).lower()]
    match = _PREFIXED.search(message)
    if match:
        return _WORDS[match.group(1).lower()]
    return None


def trace_ids(message: str) -> set[str]:
    """The W3C trace ids (32 hex digits, lower case) in a line: a traceparent header value, or a
    trace_id / traceId / trace.id field (logfmt, JSON, key: value)."""
    found = {m.group(1).lower() for m in _TRACEPARENT.finditer(message)}
    found.update(m.group(1).lower() for m in _TRACE_FIELD.finditer(message))
    return found


def normalize_trace_id(text: str) -> str | None:
    """The trace id in a --trace argument (a bare id or a whole traceparent), or None."""
    text = text.strip()
    if re.fullmatch(_TRACE_ID, text):
        return None if set(text) == {"0"} else text.lower()
    match = _TRACEPARENT.fullmatch(text)
    return match.group(1).lower() if match else None
