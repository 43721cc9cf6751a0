"""Drift detection: declared (spec vs baseline), live (desired vs live objects), runtime (probes vs spec).

Pure code: plain data in, findings out. See docs/drift.md.
"""

from parity.drift.engine import DriftReport, Finding, evaluate_drift
from parity.drift.declared import evaluate_declared
from parity.drift.live import evaluate_live
from parity.drift.runtime import evaluate_runtime

__all__ = ["DriftReport", "Finding", "evaluate_declared", "evaluate_drift", "evaluate_live", "evaluate_runtime"]
