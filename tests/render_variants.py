"""Spec variants every rendering check runs on: the server-side dry run
(tests/integration/test_render_dryrun.py) and the outside linter (tests/unit/test_kube_score.py)."""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SAMPLE = yaml.safe_load((REPO / "manifests/samples/dev.yaml").read_text())["spec"]


def variant(**sections) -> dict:
    spec = copy.deepcopy(SAMPLE)
    for key, value in sections.items():
        spec[key] = {**spec.get(key, {}), **value}
    return spec


VARIANTS = {
    "sample": variant(),
    "minimal-defaults": {},
    "single-members": variant(etcd={"replicas": 1}, postgres={"replicas": 1, "patroni": {"synchronousMode": False}},
                              redis={"mode": "standalone", "replicas": 1}),
    "five-etcd-storage-retained": variant(etcd={"replicas": 5},
                                          postgres={"storage": {"size": "5Gi", "storageClassName": "standard",
                                                                "retainOnDelete": True}}),
    "observability-everything": variant(observability={"enabled": True, "jaeger": {"enabled": True}}),
    "observability-off": variant(observability={"enabled": False}),
    "image-overrides": variant(etcd={"image": "registry.local/etcd:v3.5.17"},
                               redis={"image": "registry.local/redis:7.2", "config": {"maxmemory": "1gb"}}),
    "network-open-sentinel-sized": variant(network={"clientNamespaces": ["shop", "checkout"]},
                                           redis={"sentinel": {"resources": {"requests": {"cpu": "20m"},
                                                                             "limits": {"memory": "64Mi"}}}}),
    "network-policies-off": variant(network={"policies": False}),
}
