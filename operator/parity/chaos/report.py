"""What a chaos experiment returns, and how `parity chaos run` shows it (pure).

`-o json` is one object: {"experiment", "seed", "invariants": [{"name", "held", "evidence"}],
"figures": {...}} (plus "timeline": [[seconds, what happened], ...]). The exit code is 0 only
when every invariant held, and an experiment that checked no invariant proved nothing: 1.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Invariant:
    name: str
    held: bool
    evidence: str


@dataclass
class ChaosReport:
    experiment: str
    seed: int
    invariants: list[Invariant] = field(default_factory=list)
    figures: dict[str, float | int | str] = field(default_factory=dict)
    timeline: list[tuple[float, str]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.invariants) and all(i.held for i in self.invariants)

    def to_dict(self) -> dict:
        return {
            "experiment": self.experiment,
            "seed": self.seed,
            "invariants": [{"name": i.name, "held": i.held, "evidence": i.evidence} for i in self.invariants],
            "figures": dict(self.figures),
            "timeline": [[round(t, 3), what] for t, what in self.timeline],
        }


def exit_code(report: ChaosReport) -> int:
    return 0 if report.passed else 1


def render_json(report: ChaosReport) -> str:
    return json.dumps(report.to_dict(), sort_keys=False)


def render_text(report: ChaosReport) -> str:
    lines = [f"experiment {report.experiment} (seed {report.seed})"]
    if report.timeline:
        lines.append("timeline:")
        lines.extend(f"  {t:8.2f}s  {what}" for t, what in report.timeline)
    lines.append("invariants:")
    if not report.invariants:
        lines.append("  none checked: the experiment proved nothing")
    for inv in report.invariants:
        lines.append(f"  {'held  ' if inv.held else 'BROKEN'}  {inv.name}: {inv.evidence}")
    if report.figures:
        lines.append("figures:")
        lines.extend(f"  {k}: {v}" for k, v in report.figures.items())
    lines.append("result: " + ("every invariant held" if report.passed else "FAILED"))
    return "\n".join(lines)
