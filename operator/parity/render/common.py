"""Metadata and small manifest pieces every child object shares.

Everything here is pure and deterministic: the same arguments give equal dicts with the same
key order, so a resync produces a byte-identical server-side apply body and writes nothing.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from typing import Any

import yaml

from parity import constants as c
from parity.api.models import Resources
from parity.render.images import PUBLISHED, ImageCatalog

# Annotation on pod templates that rolls the pods when the configuration they read at start
# changes (a ConfigMap mounted as files is refreshed in place, but the processes read it once).
ANNOTATION_CONFIG_HASH = f"{c.ANNOTATION_PREFIX}/config-hash"


def build_labels(
    env_name: str,
    component: str,
    app: str,
    *,
    version: str | None = None,
    extra_labels: dict[str, str] | None = None,
) -> dict[str, str]:
    """The labels of one child: standard app.kubernetes.io set plus the environment pointer."""
    labels = {
        c.LABEL_NAME: app,
        c.LABEL_INSTANCE: env_name,
        c.LABEL_COMPONENT: component,
        c.LABEL_PART_OF: c.PART_OF,
        c.LABEL_MANAGED_BY: c.MANAGED_BY,
        c.LABEL_ENVIRONMENT: env_name,
    }
    if version:
        labels[c.LABEL_VERSION] = version
    if extra_labels:
        labels.update(extra_labels)
    return dict(sorted(labels.items()))


def selector_labels(env_name: str, app: str) -> dict[str, str]:
    """The stable subset used in selectors.

    Selectors of StatefulSets and Deployments are immutable, so this never carries anything
    that changes over an environment's life (no version, no component renames).
    """
    return {
        c.LABEL_INSTANCE: env_name,
        c.LABEL_NAME: app,
        c.LABEL_PART_OF: c.PART_OF,
    }


def owner_reference(env_name: str, owner_uid: str) -> dict[str, Any]:
    return {
        "apiVersion": c.API_VERSION,
        "kind": c.ENVIRONMENT_KIND,
        "name": env_name,
        "uid": owner_uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def build_metadata(
    env_name: str,
    namespace: str,
    owner_uid: str,
    component: str,
    name: str,
    *,
    app: str | None = None,
    version: str | None = None,
    extra_labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    owned: bool = True,
) -> dict[str, Any]:
    """metadata of one child object.

    `component` is the spec section the object belongs to (constants.COMPONENT_ETCD,
    _POSTGRES, _REDIS or _OBSERVABILITY), so children group by the section whose condition
    they feed; `app` is what runs in it (etcd, patroni, redis, sentinel, prometheus, ...) and
    defaults to `component`. `owned=False` leaves out the owner reference: only for objects
    that must outlive the environment on purpose (the credentials of retained volumes).
    """
    metadata: dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "labels": build_labels(env_name, component, app or component, version=version, extra_labels=extra_labels),
    }
    if annotations:
        metadata["annotations"] = dict(sorted(annotations.items()))
    if owned:
        metadata["ownerReferences"] = [owner_reference(env_name, owner_uid)]
    return metadata


@dataclass(frozen=True)
class Owner:
    """The environment every child of one render belongs to, and the image catalogue that
    supplies its default images (the published one unless the operator is configured otherwise).
    `secret_keys`: the keys its credentials Secret holds; None for every key (a new Secret).
    Only a Secret generated before a key existed lacks it (render/postgres.py says what then)."""

    env_name: str
    namespace: str
    uid: str
    images: ImageCatalog = PUBLISHED
    secret_keys: frozenset[str] | None = None

    def has_secret(self, key: str) -> bool:
        return self.secret_keys is None or key in self.secret_keys

    def metadata(self, component: str, name: str, **kwargs: Any) -> dict[str, Any]:
        return build_metadata(self.env_name, self.namespace, self.uid, component, name, **kwargs)

    def pod_metadata(
        self, component: str, app: str, *, version: str | None = None, annotations: dict[str, str] | None = None
    ) -> dict[str, Any]:
        metadata: dict[str, Any] = {"labels": build_labels(self.env_name, component, app, version=version)}
        if annotations:
            metadata["annotations"] = dict(sorted(annotations.items()))
        return metadata

    def selector(self, app: str) -> dict[str, str]:
        return selector_labels(self.env_name, app)

    def service_host(self, service: str) -> str:
        return service_host(service, self.namespace)


def service_host(service: str, namespace: str) -> str:
    return f"{service}.{namespace}.svc"


# --- small pieces of pod specs -------------------------------------------------------------

def container_port(name: str, port: int) -> dict[str, Any]:
    # protocol is spelled out: it is part of the list-map key server-side apply merges on.
    return {"containerPort": port, "name": name, "protocol": "TCP"}


def service_port(name: str, port: int, target: str | int | None = None) -> dict[str, Any]:
    return {"name": name, "port": port, "protocol": "TCP", "targetPort": target if target is not None else name}


def env_value(name: str, value: str) -> dict[str, Any]:
    return {"name": name, "value": value}


def env_field(name: str, field_path: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"fieldRef": {"fieldPath": field_path}}}


def env_secret(name: str, secret: str, key: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def env_config(name: str, config_map: str, key: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"configMapKeyRef": {"name": config_map, "key": key}}}


def http_probe(path: str, port: str | int, *, period: int = 10, failures: int = 3, delay: int | None = None) -> dict:
    probe: dict[str, Any] = {
        "httpGet": {"path": path, "port": port}, "periodSeconds": period, "failureThreshold": failures,
    }
    if delay is not None:
        probe["initialDelaySeconds"] = delay
    return probe


def exec_probe(command: list[str], *, period: int = 10, failures: int = 3) -> dict[str, Any]:
    return {"exec": {"command": command}, "periodSeconds": period, "failureThreshold": failures}


def tcp_probe(port: str | int, *, period: int = 10, failures: int = 3) -> dict[str, Any]:
    return {"tcpSocket": {"port": port}, "periodSeconds": period, "failureThreshold": failures}


def container_resources(resources: Resources | None) -> dict[str, Any] | None:
    """requests/limits from a section's `resources`, or None when nothing is set."""
    if resources is None:
        return None
    wire = resources.to_wire()
    result = {kind: dict(sorted(values.items())) for kind, values in sorted(wire.items()) if values}
    return result or None


def with_resources(container: dict[str, Any], resources: Resources | None) -> dict[str, Any]:
    rendered = container_resources(resources)
    if rendered:
        container["resources"] = rendered
    return container


def empty_dir_volume(name: str, *, size_limit: str) -> dict[str, Any]:
    """A scratch volume with a bound: a runaway writer gets its pod evicted instead of filling
    the node's disk under every other pod."""
    return {"emptyDir": {"sizeLimit": size_limit}, "name": name}


def spread_members(owner: Owner, app: str) -> dict[str, Any]:
    """Pod anti-affinity that places the members of one StatefulSet on different nodes where it
    can. Preferred, not required: a one-node cluster (the local real node) still runs them all."""
    return {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{
        "weight": 100,
        "podAffinityTerm": {"labelSelector": {"matchLabels": owner.selector(app)},
                            "topologyKey": "kubernetes.io/hostname"},
    }]}}


def pod_disruption_budget(owner: Owner, component: str, name: str, app: str, *,
                          max_unavailable: int) -> dict[str, Any]:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": owner.metadata(component, name, app=app),
        "spec": {"maxUnavailable": max_unavailable, "selector": {"matchLabels": owner.selector(app)}},
    }


# Every container of every child: no privilege gain (setuid binaries, file capabilities) and no
# capabilities at all. A container that truly needs one says so in its own securityContext,
# which takes precedence (only PostgreSQL's one-shot chown of a fresh volume does).
CONTAINER_SECURITY: dict[str, Any] = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}


def _with_security(container: dict[str, Any], *, under: dict[str, Any] | None = None,
                   over: dict[str, Any] | None = None) -> dict[str, Any]:
    """The container's securityContext between `under` (its own settings win) and `over` (wins)."""
    merged = {**copy.deepcopy(under or {}), **container.get("securityContext", {}), **(over or {})}
    return {**container, "securityContext": merged}


def hardened(container: dict[str, Any]) -> dict[str, Any]:
    """The container with CONTAINER_SECURITY under its own securityContext settings."""
    return _with_security(container, under=CONTAINER_SECURITY)


def read_only_root(container: dict[str, Any]) -> dict[str, Any]:
    """The container with a read-only root filesystem: for processes that write only to volumes."""
    return _with_security(container, over={"readOnlyRootFilesystem": True})


# The user (and group) of pods whose image needs no particular one: the process writes only to
# its volumes and needs no passwd entry (etcd, Redis, Sentinel, Jaeger, the collector).
NON_ROOT_UID = 10001


def pod_spec(containers: list[dict], *, volumes: list[dict] | None = None, service_account: str | None = None,
             init_containers: list[dict] | None = None, affinity: dict[str, Any] | None = None,
             run_as: int, run_as_group: int | None = None) -> dict[str, Any]:
    """A pod spec with the settings every child pod shares.

    Service links are off: Kubernetes would otherwise inject <SERVICE>_PORT variables for every
    Service in the namespace, and both etcd (ETCD_*) and Spilo (ETCD_*, CONSUL_*, ... read as
    DCS settings) interpret such variables. Only Patroni/Spilo talks to the API server, so
    every other pod runs without a token.

    Every pod runs under the container runtime's default seccomp profile, every container as
    `hardened`, and as the non-root user `run_as` (group `run_as_group`, by default the same
    number), which also owns the pod's volumes (fsGroup): every child meets the restricted Pod
    Security level.
    """
    spec: dict[str, Any] = {"enableServiceLinks": False}
    if affinity:
        spec["affinity"] = affinity
    if service_account:
        spec["serviceAccountName"] = service_account
    else:
        spec["automountServiceAccountToken"] = False
    group = run_as if run_as_group is None else run_as_group
    spec["securityContext"] = {"seccompProfile": {"type": "RuntimeDefault"}, "runAsNonRoot": True,
                               "runAsUser": run_as, "runAsGroup": group, "fsGroup": group}
    if init_containers:
        spec["initContainers"] = [hardened(c) for c in init_containers]
    spec["containers"] = [hardened(c) for c in containers]
    if volumes:
        spec["volumes"] = volumes
    return spec


# --- deterministic serialisation ------------------------------------------------------------

# libyaml's emitter when PyYAML has it (its wheels do): the same text as the pure-Python one for
# every rendered variant (tests/unit/test_render_common.py), four times faster, and every sync
# renders the Patroni configuration.
_SafeDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _PlainDumper(_SafeDumper):
    """Writes a value used twice in full both times: anchors and aliases (&id001 / *id001)
    are legal YAML but surprise anyone reading or diffing a rendered file."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump_yaml(data: Any) -> str:
    return yaml.dump(data, Dumper=_PlainDumper, sort_keys=True, default_flow_style=False, allow_unicode=True)


def dump_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, indent=2) + "\n"


def config_hash(data: dict[str, str]) -> str:
    """A short digest of a ConfigMap's data, for ANNOTATION_CONFIG_HASH."""
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def config_map(owner: Owner, component: str, name: str, data: dict[str, str], *, app: str | None = None) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": owner.metadata(component, name, app=app),
        "data": dict(sorted(data.items())),
    }


def service(owner: Owner, component: str, name: str, app: str, ports: list[dict], *,
            selector: dict[str, str] | None = None, headless: bool = False,
            publish_not_ready: bool = False) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    if headless:
        spec["clusterIP"] = "None"
    spec["ports"] = ports
    if publish_not_ready:
        spec["publishNotReadyAddresses"] = True
    spec["selector"] = selector if selector is not None else owner.selector(app)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": owner.metadata(component, name, app=app),
        "spec": spec,
    }


def deployment(owner: Owner, component: str, name: str, app: str, pod: dict[str, Any], *,
               annotations: dict[str, str] | None = None, version: str | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": owner.metadata(component, name, app=app, version=version),
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": owner.selector(app)},
            "template": {
                "metadata": owner.pod_metadata(component, app, version=version, annotations=annotations),
                "spec": pod,
            },
        },
    }


def volume_claim_template(owner: Owner, app: str, name: str, size: str, *,
                          storage_class: str | None = None) -> dict[str, Any]:
    """One ReadWriteOnce claim per StatefulSet pod; no class means the cluster's default."""
    spec: dict[str, Any] = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}
    if storage_class:
        spec["storageClassName"] = storage_class
    return {"metadata": {"name": name, "labels": owner.selector(app)}, "spec": spec}


def claim_retention(*, retain_on_delete: bool, retain_on_scale: bool) -> dict[str, str]:
    """persistentVolumeClaimRetentionPolicy: what happens to the claims when the StatefulSet is
    deleted, and when it is scaled down."""
    return {
        "whenDeleted": "Retain" if retain_on_delete else "Delete",
        "whenScaled": "Retain" if retain_on_scale else "Delete",
    }


def statefulset(owner: Owner, component: str, name: str, app: str, pod: dict[str, Any], *, replicas: int,
                service_name: str, version: str | None = None, parallel: bool = False,
                claims: list[dict[str, Any]] | None = None,
                retention: dict[str, str] | None = None) -> dict[str, Any]:
    """A StatefulSet whose pods carry `app`'s selector labels; `parallel` starts them all at once."""
    spec: dict[str, Any] = {"replicas": replicas, "serviceName": service_name}
    if parallel:
        spec["podManagementPolicy"] = "Parallel"
    spec["selector"] = {"matchLabels": owner.selector(app)}
    spec["template"] = {"metadata": owner.pod_metadata(component, app, version=version), "spec": pod}
    if claims:
        spec["volumeClaimTemplates"] = claims
    if retention:
        spec["persistentVolumeClaimRetentionPolicy"] = retention
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": owner.metadata(component, name, app=app, version=version),
        "spec": spec,
    }
