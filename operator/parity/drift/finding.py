"""One difference the drift engine found (re-exported by drift/engine.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from parity import constants

COMPONENT_OPERATOR = "operator"
KNOWN_COMPONENTS = (
    constants.COMPONENT_ETCD,
    constants.COMPONENT_POSTGRES,
    constants.COMPONENT_REDIS,
    constants.COMPONENT_SENTINEL,
    constants.COMPONENT_OBSERVABILITY,
    COMPONENT_OPERATOR,
)


@dataclass(frozen=True)
class Finding:
    """A difference at one path.

    `local` is what this environment has (spec, live object or running service); `baseline`
    is what it should have: the baseline's value at the declared and runtime levels, the
    desired (rendered) value at the live level. Either is None when absent on that side.
    `kind`, `name` and `manager` are set at the live level only; `member` at the runtime level,
    naming the running member the value was read from (Patroni leader, Redis node, Sentinel).
    """

    path: str
    component: str
    level: str
    change: str
    local: Any = None
    baseline: Any = None
    severity: str = "warning"
    remediation: str = ""
    kind: str | None = None
    name: str | None = None
    manager: str | None = None
    member: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON item of `parity diff -o json`."""
        item = {
            "path": self.path,
            "component": self.component,
            "level": self.level,
            "change": self.change,
            "local": self.local,
            "baseline": self.baseline,
            "severity": self.severity,
            "remediation": self.remediation,
        }
        if self.level == "live":
            item.update(kind=self.kind, name=self.name, manager=self.manager)
        if self.member is not None:
            item["member"] = self.member
        return item

    @property
    def sort_key(self) -> tuple:
        return (-constants.SEVERITY_RANK.get(self.severity, -1), self.path, self.level, self.name or "", self.change)


def render_value(value: Any, limit: int | None = None) -> str:
    """A compact, human and CRD friendly text of a value: strings as they are, the rest as JSON."""
    if isinstance(value, str):
        text = value
    else:
        try:
            text = json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)
        except (TypeError, ValueError):
            text = str(value)
    if limit is not None and len(text) > limit:
        text = text[: max(limit - 1, 0)] + "…"
    return text


def quote_value(value: Any) -> str:
    """A value as it would be written in YAML/JSON, for remediation sentences: "16", 3, true."""
    try:
        return json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)
    except (TypeError, ValueError):
        return json.dumps(str(value))


def component_of_path(path_keys: list[str]) -> str:
    """The component a spec path belongs to: its first key, `sentinel` under redis.sentinel."""
    if len(path_keys) >= 2 and path_keys[0] == constants.COMPONENT_REDIS and path_keys[1] == "sentinel":
        return constants.COMPONENT_SENTINEL
    if path_keys and path_keys[0] in KNOWN_COMPONENTS:
        return path_keys[0]
    return COMPONENT_OPERATOR


_COMPONENT_WORDS = (
    ("sentinel", constants.COMPONENT_SENTINEL),
    ("patroni", constants.COMPONENT_POSTGRES),
    ("postgres", constants.COMPONENT_POSTGRES),
    ("redis", constants.COMPONENT_REDIS),
    ("etcd", constants.COMPONENT_ETCD),
    ("prometheus", constants.COMPONENT_OBSERVABILITY),
    ("grafana", constants.COMPONENT_OBSERVABILITY),
    ("jaeger", constants.COMPONENT_OBSERVABILITY),
    ("otel", constants.COMPONENT_OBSERVABILITY),
    ("exporter", constants.COMPONENT_OBSERVABILITY),
    ("observability", constants.COMPONENT_OBSERVABILITY),
)


def component_of_name(name: str | None) -> str | None:
    """A known component for a label value or probe name (`patroni` -> postgres), or None."""
    if not name:
        return None
    value = str(name).lower()
    if value in KNOWN_COMPONENTS:
        return value
    for word, component in _COMPONENT_WORDS:
        if word in value:
            return component
    return None
