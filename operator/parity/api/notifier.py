"""The ParityNotifier spec: where drift notifications of a namespace's environments go.

A namespaced resource of its own (not a section of each ParityEnvironment): one notifier serves
every environment of a team, its targets' URLs come from Secrets in the same namespace, and the
health of its deliveries is its own status, so a failing chat webhook never makes an environment
look degraded. docs/drift.md#notifications says why in full.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from parity.api.models import DNS_SUBDOMAIN_PATTERN, Model, Severity

TARGET_NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
SECRET_KEY_PATTERN = r"^[-._a-zA-Z0-9]+$"


class SecretKeyRef(Model):
    name: str = Field(pattern=DNS_SUBDOMAIN_PATTERN, max_length=253)
    key: str = Field(default="url", pattern=SECRET_KEY_PATTERN, max_length=253)


class NotifierTarget(Model):
    name: str = Field(pattern=TARGET_NAME_PATTERN, max_length=63)
    type: Literal["webhook", "slack"] = "webhook"
    secret_ref: SecretKeyRef
    min_severity: Severity = "warning"


class NotifierSpec(Model):
    environments: list[str] = Field(default_factory=list)
    targets: list[NotifierTarget] = Field(default_factory=list)
