"""What every actuator shares: the settings an environment wants at runtime, what changed, retries.

Settings are keyed by the same dotted spec paths the probes and the drift engine use
(`postgres.parameters.work_mem`, `postgres.patroni.ttl`, `redis.config.maxmemory`,
`redis.sentinel.downAfterMilliseconds`), so a runtime finding names the setting an actuator
changes, and status can record which value was last applied to which path.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, TypeVar

from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, stop_after_delay, wait_exponential

from parity.api.models import EnvironmentSpec
from parity.drift.finding import render_value

T = TypeVar("T")

POSTGRES_PARAMETERS = "postgres.parameters."
PATRONI = "postgres.patroni."
REDIS_CONFIG = "redis.config."
SENTINEL = "redis.sentinel."
# Spec key under redis.sentinel → the option name SENTINEL SET and SENTINEL MASTER use.
SENTINEL_OPTIONS = {
    "quorum": "quorum",
    "downAfterMilliseconds": "down-after-milliseconds",
    "failoverTimeout": "failover-timeout",
    "parallelSyncs": "parallel-syncs",
}
# Spec key under postgres.patroni → Patroni's dynamic configuration key.
PATRONI_KEYS = {
    "ttl": "ttl",
    "loopWait": "loop_wait",
    "retryTimeout": "retry_timeout",
    "maximumLagOnFailover": "maximum_lag_on_failover",
    "synchronousMode": "synchronous_mode",
    "failsafeMode": "failsafe_mode",
}
# A setting whose name says it holds a credential is never shown or stored, only its hash.
_SECRET_NAME = re.compile(r"pass|auth|secret|token|key", re.IGNORECASE)
REDACTED = "<redacted>"


def is_secret_setting(path: str) -> bool:
    return bool(_SECRET_NAME.search(path.rsplit(".", 1)[-1]))


def shown(path: str, value: Any) -> str:
    """A value as events and status may show it: credentials never."""
    if value is None:
        return "unset"
    return REDACTED if is_secret_setting(path) else render_value(value, 60)


def applied_token(path: str, value: Any) -> str:
    """What status records as applied for one path: the value, or a hash for a credential."""
    text = str(value).lower() if isinstance(value, bool) else str(value)
    if is_secret_setting(path):
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:16]
    return text


def desired_settings(spec: EnvironmentSpec) -> dict[str, Any]:
    """Every runtime setting the spec declares, by spec path. Pure."""
    settings: dict[str, Any] = {}
    postgres = spec.postgres
    for name, value in postgres.parameters.items():
        settings[POSTGRES_PARAMETERS + name] = value
    patroni = postgres.patroni
    for spec_key, dcs_key in PATRONI_KEYS.items():
        settings[PATRONI + spec_key] = getattr(patroni, dcs_key)
    redis = spec.redis
    for key, value in redis.config.items():
        settings[REDIS_CONFIG + key] = value
    if redis.mode == "sentinel":
        for spec_key in SENTINEL_OPTIONS:
            settings[SENTINEL + spec_key] = getattr(redis.sentinel, _snake(spec_key))
    return settings


def settings_to_apply(desired: dict[str, Any], applied: dict[str, str] | None, *, enforce: bool) -> dict[str, Any]:
    """The desired settings an actuation pass pushes to the running services. Pure.

    Under `enforce` all of them (a hand-made change is reverted). Otherwise only those whose
    desired value differs from the one last applied (`applied`, from status.actuation): a
    spec change reaches the services, while a change someone made by hand to another setting
    stays and is reported as runtime drift. A path that left the spec maps to None.
    Nothing applied yet (`applied` None): every setting, once."""
    if enforce or applied is None:
        chosen: dict[str, Any] = dict(desired)
    else:
        chosen = {p: v for p, v in desired.items() if applied.get(p) != applied_token(p, v)}
    for path in applied or {}:
        if path not in desired:
            chosen[path] = None
    return chosen


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@dataclass(frozen=True)
class Change:
    """One setting changed on one running target."""

    path: str
    target: str
    before: Any
    after: Any

    def describe(self) -> str:
        return f"{self.path} on {self.target}: {shown(self.path, self.before)} → {shown(self.path, self.after)}"


@dataclass
class ActuationResult:
    """What one actuator did. `applied` are the paths now in effect as desired (changed or
    already right); `pending` says what still needs a restart; `errors` what failed (no secret
    in any of them)."""

    component: str
    changes: list[Change] = field(default_factory=list)
    applied: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class Refused(Exception):
    """The service answered and said no: retrying will not change that."""


async def with_retries(call: Callable[[], Awaitable[T]], *, attempts: int = 3, within: float = 20.0) -> T:
    """Retry a call that failed for a transient reason (a timeout, a refused connection) with
    exponential backoff, at most `attempts` times and `within` seconds; a Refused error is final."""
    async for attempt in AsyncRetrying(
        stop=stop_after_attempt(attempts) | stop_after_delay(within),
        wait=wait_exponential(multiplier=0.5, max=4),
        retry=retry_if_exception(lambda err: not isinstance(err, Refused)),
        reraise=True,
    ):
        with attempt:
            return await call()
    raise AssertionError("unreachable")  # pragma: no cover - reraise=True always raises or returns
