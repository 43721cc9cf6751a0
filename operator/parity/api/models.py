"""Pydantic models of the ParityEnvironment and ParityBaseline specs.

The CRD schemas in crds/ are the contract with the API server; these models are the contract
with the Python code. tests/unit/test_crd_models.py walks both and fails when a field, a default
or an enum differs, so neither can drift from the other.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

# The grammar of Kubernetes' resource.ParseQuantity, unsigned: digits with at most one decimal
# point, then one binary suffix (Ki..Ei), decimal suffix (n, u, m, k, M..E) or exponent (e3).
# `1.2.3Gi`, `5KK`, `1ki` and `1Gi1` are refused here as the StatefulSet would refuse them.
QUANTITY_PATTERN = r"^\+?([0-9]+(\.[0-9]*)?|\.[0-9]+)([KMGTPE]i|[numkMGTPE]|[eE][+-]?[0-9]+)?$"
# Values written line by line into redis.conf and postgresql.conf: a control character (a
# newline above all) would end the line and inject a directive of the writer's choosing.
CONFIG_VALUE_PATTERN = r"^[^\x00-\x1F\x7F]*$"
# Keys of those maps are setting names; whitespace in one would split the line differently.
CONFIG_KEY_PATTERN = r"^[A-Za-z0-9_.-]+$"
# An image reference has no whitespace or control characters (the kubelet cannot pull it).
IMAGE_PATTERN = r"^[^\x00-\x20\x7F]+$"
# What the API server accepts in a StorageClass name: a DNS subdomain.
DNS_SUBDOMAIN_PATTERN = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"
# A namespace name: a DNS label.
NAMESPACE_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
NamespaceName = Annotated[str, StringConstraints(pattern=NAMESPACE_PATTERN, max_length=63)]
Severity = Literal["info", "warning", "critical"]
ConfigValue = Annotated[str, StringConstraints(pattern=CONFIG_VALUE_PATTERN)]

# Cross-field rules that the CRDs also enforce (as CEL rules with these very messages).
ETCD_ODD_MESSAGE = "etcd replicas must be odd (1, 3, 5 or 7) so that the cluster keeps a quorum"
SENTINEL_QUORUM_MESSAGE = "sentinel quorum must not exceed sentinel replicas, or no failover can ever be agreed"
PATRONI_TIMING_MESSAGE = (
    "loopWait + 2 * retryTimeout must not exceed ttl (Patroni's timing rule), "
    "or the leader lock can expire while Patroni is still retrying"
)
CONFIG_KEY_MESSAGE = (
    "keys must be setting names made of letters, digits, '_', '.' and '-' (no whitespace), "
    "because each key is written into a configuration file line"
)
CONFIG_KEY_RULE = f"self.all(k, k.matches('{CONFIG_KEY_PATTERN}'))"


def check_config_keys(value: dict[str, str]) -> dict[str, str]:
    """The model side of CONFIG_KEY_RULE, with the same message (and the offending key)."""
    bad = sorted(key for key in value if not re.fullmatch(CONFIG_KEY_PATTERN, key))
    if bad:
        raise ValueError(f"{CONFIG_KEY_MESSAGE}; not one: {', '.join(repr(key) for key in bad)}")
    return value


class Model(BaseModel):
    """camelCase on the wire, snake_case in Python, unknown fields refused."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)

    def to_wire(self) -> dict:
        """The spec as the API server would store it: camelCase, defaults filled in."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


class ResourceList(Model):
    cpu: str | None = Field(default=None, pattern=QUANTITY_PATTERN)
    memory: str | None = Field(default=None, pattern=QUANTITY_PATTERN)


class Resources(Model):
    requests: ResourceList | None = None
    limits: ResourceList | None = None


class EtcdSpec(Model):
    replicas: int = Field(default=3, ge=1, le=7)
    version: str = Field(default="3.5.17", pattern=r"^[0-9]+\.[0-9]+\.[0-9]+$")
    image: str | None = Field(default=None, pattern=IMAGE_PATTERN)
    resources: Resources | None = None

    @field_validator("replicas")
    @classmethod
    def _odd(cls, value: int) -> int:
        if value % 2 == 0:
            raise ValueError(ETCD_ODD_MESSAGE)
        return value


class PatroniSpec(Model):
    ttl: int = Field(default=30, ge=5, le=3600)
    loop_wait: int = Field(default=10, ge=1, le=3600)
    retry_timeout: int = Field(default=10, ge=1, le=3600)
    maximum_lag_on_failover: int = Field(default=1048576, ge=0)
    synchronous_mode: bool = False
    failsafe_mode: bool = False

    # Same rule and message as the CEL rule in the CRDs, so that `parity validate` refuses what
    # the API server refuses. It involves three fields, so it is reported on the section.
    @model_validator(mode="after")
    def _fits_ttl(self) -> PatroniSpec:
        if self.loop_wait + 2 * self.retry_timeout > self.ttl:
            raise ValueError(PATRONI_TIMING_MESSAGE)
        return self


class StorageSpec(Model):
    size: str = Field(default="1Gi", pattern=QUANTITY_PATTERN)
    storage_class_name: str | None = Field(default=None, pattern=DNS_SUBDOMAIN_PATTERN, max_length=253)
    retain_on_delete: bool = False


class PostgresSpec(Model):
    replicas: int = Field(default=3, ge=1, le=9)
    version: str = Field(default="16", pattern=r"^[0-9]{2}$")
    image: str | None = Field(default=None, pattern=IMAGE_PATTERN)
    parameters: dict[str, ConfigValue] = Field(default_factory=dict)
    patroni: PatroniSpec = Field(default_factory=PatroniSpec)
    storage: StorageSpec = Field(default_factory=StorageSpec)
    resources: Resources | None = None

    @field_validator("parameters")
    @classmethod
    def _parameter_names(cls, value: dict[str, str]) -> dict[str, str]:
        return check_config_keys(value)


class SentinelSpec(Model):
    replicas: int = Field(default=3, ge=1, le=7)
    quorum: int = Field(default=2, ge=1, le=7, validate_default=True)
    down_after_milliseconds: int = Field(default=5000, ge=100)
    failover_timeout: int = Field(default=60000, ge=1000)
    parallel_syncs: int = Field(default=1, ge=1, le=16)
    master_group_name: str = Field(default="mymaster", pattern=r"^[a-zA-Z0-9_.-]{1,63}$")
    resources: Resources | None = None

    @field_validator("quorum")
    @classmethod
    def _quorum_reachable(cls, value: int, info: ValidationInfo) -> int:
        replicas = info.data.get("replicas")
        if replicas is not None and value > replicas:
            raise ValueError(SENTINEL_QUORUM_MESSAGE)
        return value


class RedisSpec(Model):
    mode: Literal["standalone", "sentinel"] = "sentinel"
    replicas: int = Field(default=3, ge=1, le=9)
    version: str = Field(default="7.2", pattern=r"^[0-9]+\.[0-9]+(\.[0-9]+)?$")
    image: str | None = Field(default=None, pattern=IMAGE_PATTERN)
    config: dict[str, ConfigValue] = Field(default_factory=dict)
    sentinel: SentinelSpec = Field(default_factory=SentinelSpec)
    resources: Resources | None = None

    @field_validator("config")
    @classmethod
    def _directive_names(cls, value: dict[str, str]) -> dict[str, str]:
        return check_config_keys(value)


class ToggleSpec(Model):
    """One observability part: on when observability is on, unless switched off here."""

    enabled: bool = True
    image: str | None = Field(default=None, pattern=IMAGE_PATTERN)


class GrafanaSpec(ToggleSpec):
    # Off by default: whoever can reach the Service would see every dashboard without a login.
    anonymous_viewer: bool = False


class ObservabilitySpec(Model):
    enabled: bool = False
    prometheus: ToggleSpec = Field(default_factory=ToggleSpec)
    grafana: GrafanaSpec = Field(default_factory=GrafanaSpec)
    jaeger: ToggleSpec = Field(default_factory=ToggleSpec)
    otel_collector: ToggleSpec = Field(default_factory=ToggleSpec)
    exporters: ToggleSpec = Field(default_factory=ToggleSpec)


class DriftSpec(Model):
    policy: Literal["report", "approve", "enforce"] = "report"
    ignore: list[str] = Field(default_factory=list)
    fail_on: Severity = "critical"


class BaselineRef(Model):
    name: str = Field(pattern=DNS_SUBDOMAIN_PATTERN, max_length=253)


class EnvironmentSections(Model):
    """The sections a ParityEnvironment and a ParityBaseline's `environment` share."""

    etcd: EtcdSpec = Field(default_factory=EtcdSpec)
    postgres: PostgresSpec = Field(default_factory=PostgresSpec)
    redis: RedisSpec = Field(default_factory=RedisSpec)
    observability: ObservabilitySpec = Field(default_factory=ObservabilitySpec)


class NetworkSpec(Model):
    """Who may connect to the environment's pods (render/network.py). Not compared with a
    baseline: it is about the developer's cluster, not about production's settings."""

    policies: bool = True
    client_namespaces: list[NamespaceName] = Field(default_factory=list)


class EnvironmentSpec(EnvironmentSections):
    baseline_ref: BaselineRef | None = None
    drift: DriftSpec = Field(default_factory=DriftSpec)
    network: NetworkSpec = Field(default_factory=NetworkSpec)

    def sections(self) -> EnvironmentSections:
        """Only the parts compared with a baseline."""
        return EnvironmentSections(
            etcd=self.etcd, postgres=self.postgres, redis=self.redis, observability=self.observability
        )


class BaselineRule(Model):
    path: str = Field(pattern=r"^[A-Za-z0-9_*.-]+$", min_length=1)
    severity: Severity
    remediation: str | None = None


class BaselineSpec(Model):
    description: str | None = None
    environment: EnvironmentSections = Field(default_factory=EnvironmentSections)
    rules: list[BaselineRule] = Field(default_factory=list)
    default_severity: Severity = "warning"
