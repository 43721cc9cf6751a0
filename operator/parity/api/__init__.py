"""Typed models of the parity.dev API (ParityEnvironment, ParityBaseline)."""

from parity.api.models import (
    BaselineRule,
    BaselineSpec,
    DriftSpec,
    EnvironmentSections,
    EnvironmentSpec,
    EtcdSpec,
    ObservabilitySpec,
    PostgresSpec,
    RedisSpec,
)
from parity.api.errors import SpecError, parse_baseline, parse_environment

__all__ = [
    "BaselineRule",
    "BaselineSpec",
    "DriftSpec",
    "EnvironmentSections",
    "EnvironmentSpec",
    "EtcdSpec",
    "ObservabilitySpec",
    "PostgresSpec",
    "RedisSpec",
    "SpecError",
    "parse_baseline",
    "parse_environment",
]
