"""Which drift levels ran, which were skipped (and why) and which failed, and what that means
for the verdict.

A report only speaks for the levels that ran. "No finding" from a comparison that never
happened is not parity: without a baseline (none named, not found, invalid) or with a level
that failed, the verdict is `unknown`; a level skipped on purpose (runtime probes switched
off, not probed yet, every service unreachable; live and runtime in file mode) leaves the
verdict to the levels that ran, and every summary names what was skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from parity import constants

RAN, SKIPPED, FAILED = "ran", "skipped", "failed"
LEVEL_STATES = (RAN, SKIPPED, FAILED)
UNKNOWN = "unknown"

# Reasons (CamelCase, as in conditions). The first three leave the verdict unknown: without a
# baseline there is no declared level, and the rules that rate every finding are missing.
NO_BASELINE = "NoBaseline"
BASELINE_NOT_FOUND = "BaselineNotFound"
INVALID_BASELINE = "InvalidBaseline"
LEVEL_FAILED = "LevelFailed"
PROBES_DISABLED = "ProbesDisabled"
NOT_PROBED_YET = "NotProbedYet"
UNREACHABLE = "Unreachable"
PARTLY_UNREACHABLE = "PartlyUnreachable"
NOT_REQUESTED = "NotRequested"
BASELINE_REASONS = frozenset({NO_BASELINE, BASELINE_NOT_FOUND, INVALID_BASELINE})
# Short words for summaries ("runtime skipped: probes disabled").
_PHRASES = {
    NO_BASELINE: "no baseline",
    BASELINE_NOT_FOUND: "baseline not found",
    INVALID_BASELINE: "baseline invalid",
    LEVEL_FAILED: "evaluation failed",
    PROBES_DISABLED: "probes disabled",
    NOT_PROBED_YET: "not probed yet",
    UNREACHABLE: "unreachable",
    PARTLY_UNREACHABLE: "partly unreachable",
    NOT_REQUESTED: "not compared",
}


@dataclass(frozen=True)
class Skip:
    """Why a level cannot run this time."""

    reason: str
    message: str


@dataclass(frozen=True)
class LevelOutcome:
    level: str  # declared | live | runtime
    state: str  # ran | skipped | failed
    reason: str = ""
    message: str = ""

    @property
    def phrase(self) -> str:
        return _PHRASES.get(self.reason, self.reason)

    def to_dict(self) -> dict[str, Any]:
        item: dict[str, Any] = {"state": self.state}
        if self.reason:
            item["reason"] = self.reason
        if self.message:
            item["message"] = self.message
        return item

    @classmethod
    def from_dict(cls, level: str, data: Any) -> "LevelOutcome":
        data = data if isinstance(data, dict) else {}
        state = str(data.get("state") or "")
        return cls(level, state if state in LEVEL_STATES else FAILED, str(data.get("reason") or ""),
                   str(data.get("message") or ""))


def ran(level: str, reason: str = "", message: str = "") -> LevelOutcome:
    return LevelOutcome(level, RAN, reason, message)


def skipped(level: str, skip: Skip) -> LevelOutcome:
    return LevelOutcome(level, SKIPPED, skip.reason, skip.message)


def failed(level: str, err: BaseException) -> LevelOutcome:
    return LevelOutcome(level, FAILED, LEVEL_FAILED, f"{level} level failed: {type(err).__name__}: {err}")


def unknown_cause(levels: Iterable[LevelOutcome]) -> LevelOutcome | None:
    """The level outcome that makes the verdict unknown: a failed level, or a declared level
    without a usable baseline. None when the verdict can be known."""
    for outcome in levels:
        if outcome.state == FAILED:
            return outcome
        if outcome.state == SKIPPED and outcome.reason in BASELINE_REASONS:
            return outcome
    return None


def _join(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def level_notes(levels: Iterable[LevelOutcome]) -> list[str]:
    """"runtime skipped: probes disabled", "live failed: evaluation failed", "runtime partly
    unreachable" for every level that did not simply run; levels skipped because nothing asked
    for them (live and runtime in file mode) are not mentioned."""
    notes = []
    for outcome in levels:
        if outcome.state == RAN and outcome.reason:
            notes.append(f"{outcome.level} {outcome.phrase}")
        elif outcome.state != RAN and outcome.reason != NOT_REQUESTED:
            notes.append(f"{outcome.level} {outcome.state}: {outcome.phrase}")
    return notes


def describe_levels(levels: Iterable[LevelOutcome], baseline: str, *, drifted: bool) -> str:
    """One sentence on what was compared: "declared and live in parity with production; runtime
    skipped: probes disabled". `in parity` is said only of levels that ran, and only without
    drift."""
    levels = list(levels)
    parts = []
    ran_levels = [o.level for o in levels if o.state == RAN]
    if ran_levels and not drifted:
        against = f" with {baseline}" if baseline else ""
        parts.append(f"{_join(ran_levels)} in parity{against}")
    parts += level_notes(levels)
    if levels and not ran_levels:
        parts.append("no level ran")
    return "; ".join(parts)


def runtime_state(probe_results: list) -> LevelOutcome:
    """The runtime level after its comparison: skipped when every probe failed (nothing was
    compared; the probe failures are findings of their own), ran otherwise, noting the
    services that could not be read."""
    level = constants.DRIFT_LEVELS[2]
    failures = [r for r in probe_results if getattr(r, "error", None) is not None]
    if not failures:
        return ran(level)
    if len(failures) == len(probe_results):
        where = ", ".join(f"{r.component} at {r.endpoint}" for r in failures)
        return skipped(level, Skip(UNREACHABLE, f"no service could be probed: {where}"))
    where = ", ".join(sorted({str(r.component) for r in failures}))
    return ran(level, PARTLY_UNREACHABLE, f"could not probe {where}; the other services were compared")


def runtime_skip(probes_enabled: bool) -> Skip:
    """Why the operator's runtime level did not run when it has no probe results."""
    if not probes_enabled:
        return Skip(PROBES_DISABLED, "the operator runs without runtime probes (PARITY_RUNTIME_PROBES)")
    return Skip(NOT_PROBED_YET, "the running services have not been probed yet (the periodic resync probes them)")
