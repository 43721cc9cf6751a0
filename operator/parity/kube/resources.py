"""The kinds the operator reads and writes, and their REST paths."""

from __future__ import annotations

from dataclasses import dataclass

from parity import constants


@dataclass(frozen=True)
class Resource:
    api_version: str
    kind: str
    plural: str
    namespaced: bool = True

    def collection_path(self, namespace: str | None = None) -> str:
        base = f"/api/{self.api_version}" if "/" not in self.api_version else f"/apis/{self.api_version}"
        if self.namespaced and namespace:
            return f"{base}/namespaces/{namespace}/{self.plural}"
        return f"{base}/{self.plural}"

    def object_path(self, name: str, namespace: str | None = None) -> str:
        return f"{self.collection_path(namespace)}/{name}"


CHILD_RESOURCES = (
    Resource("v1", "ServiceAccount", "serviceaccounts"),
    Resource("rbac.authorization.k8s.io/v1", "RoleBinding", "rolebindings"),
    Resource("v1", "Secret", "secrets"),
    Resource("v1", "ConfigMap", "configmaps"),
    Resource("v1", "Service", "services"),
    Resource("apps/v1", "StatefulSet", "statefulsets"),
    Resource("apps/v1", "Deployment", "deployments"),
    Resource("policy/v1", "PodDisruptionBudget", "poddisruptionbudgets"),
    Resource("networking.k8s.io/v1", "NetworkPolicy", "networkpolicies"),
)
# Read by name only, never listed (kube/children.py); not watched.
SECRETS = next(r for r in CHILD_RESOURCES if r.kind == "Secret")
# Not a child (the StatefulSet controller makes them); listed only to see whether PostgreSQL
# already has data before any password is generated.
PERSISTENT_VOLUME_CLAIMS = Resource("v1", "PersistentVolumeClaim", "persistentvolumeclaims")
ENVIRONMENT = Resource(constants.API_VERSION, constants.ENVIRONMENT_KIND, constants.ENVIRONMENT_PLURAL)
BASELINE = Resource(constants.API_VERSION, constants.BASELINE_KIND, constants.BASELINE_PLURAL, namespaced=False)
NOTIFIER = Resource(constants.API_VERSION, constants.NOTIFIER_KIND, constants.NOTIFIER_PLURAL)

# Not a child either: a view of an environment's drift, written only when the cluster serves
# the Policy WG's CRD (parity.policyreports).
POLICY_REPORTS = Resource("wgpolicyk8s.io/v1alpha2", "PolicyReport", "policyreports")

_BY_KIND = {(r.api_version, r.kind): r for r in (*CHILD_RESOURCES, ENVIRONMENT, BASELINE, POLICY_REPORTS)}


def resource_for(manifest: dict) -> Resource:
    key = (manifest.get("apiVersion"), manifest.get("kind"))
    try:
        return _BY_KIND[key]
    except KeyError:
        raise ValueError(f"unsupported kind {key[1]!r} ({key[0]!r}): not in parity.kube.resources") from None
