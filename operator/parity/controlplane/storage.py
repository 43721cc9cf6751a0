"""Volumes on the real node: local-path-provisioner, the provisioner kind ships as its default
StorageClass, run as a host process beside the control plane.

Why not Kubernetes' own host-path provisioner (which the kwok tier keeps): it makes each volume
a `root 0750` directory, and a pod's fsGroup never reaches a hostPath volume, so only a root
process could write it. Every child pod runs as a non-root user (the restricted Pod Security
level), so the volume must be writable by whichever user the pod runs as. local-path-provisioner
makes each volume directory with mode 0777 in a short-lived helper pod on the pod's node, as it
does on kind; on a cloud cluster the block volume's fsGroup ownership gives the same result.

Everything here is pure: the objects to apply and the process's arguments.
"""

from __future__ import annotations

import json
from pathlib import Path

PROVISIONER = "rancher.io/local-path"
NAMESPACE = "local-path-storage"
SERVICE_ACCOUNT = "local-path-provisioner"
CONFIG_MAP = "local-path-config"
# The same class name as kind's default, so manifests behave alike on both.
STORAGE_CLASS_NAME = "standard"
# The helper pod's job, as in the upstream manifest: one directory per volume, writable by any
# user (the pod's own user is not known when the volume is made), and removed with its volume.
SETUP_SCRIPT = '#!/bin/sh\nset -eu\nmkdir -m 0777 -p "$VOL_DIR"\n'
TEARDOWN_SCRIPT = '#!/bin/sh\nset -eu\nrm -rf "$VOL_DIR"\n'
HELPER_TIMEOUT_SECONDS = 120
# The local image the helper pod runs (images/recipes.py): a shell, mkdir and rm.
HELPER_RECIPE = "volume-helper"


def helper_pod(helper_image: str) -> dict:
    """The template the provisioner copies for each setup/teardown (it adds the command, the
    volume mounts, the node and the ServiceAccount). Root: it makes directories in a root-owned
    host directory; nothing else runs in this namespace."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "helper-pod"},
        "spec": {
            "automountServiceAccountToken": False,
            "containers": [{
                "name": "helper-pod",
                "image": helper_image,
                "imagePullPolicy": "IfNotPresent",
                "resources": {"requests": {"cpu": "10m", "memory": "16Mi"},
                              "limits": {"cpu": "100m", "memory": "32Mi"}},
                "securityContext": {"allowPrivilegeEscalation": False,
                                    "capabilities": {"drop": ["ALL"]},
                                    "seccompProfile": {"type": "RuntimeDefault"}},
            }],
        },
    }


def build_storage_objects(volume_dir: Path, helper_image: str) -> list[dict]:
    """The namespace, ServiceAccount, ConfigMap and default StorageClass the provisioner needs.
    `volume_dir` is on the host; every node (there is one) uses it."""
    config = {"nodePathMap": [{"node": "DEFAULT_PATH_FOR_NON_LISTED_NODES", "paths": [str(volume_dir)]}],
              "cmdTimeoutSeconds": HELPER_TIMEOUT_SECONDS}
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
        {"apiVersion": "v1", "kind": "ServiceAccount",
         "metadata": {"name": SERVICE_ACCOUNT, "namespace": NAMESPACE}, "automountServiceAccountToken": False},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": CONFIG_MAP, "namespace": NAMESPACE},
         "data": {"config.json": json.dumps(config, indent=2), "setup": SETUP_SCRIPT,
                  "teardown": TEARDOWN_SCRIPT, "helperPod.yaml": json.dumps(helper_pod(helper_image), indent=2)}},
        {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
         "metadata": {"name": STORAGE_CLASS_NAME,
                      "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
         "provisioner": PROVISIONER,
         # The volume is made on the node the pod is scheduled to, so binding waits for the pod.
         "volumeBindingMode": "WaitForFirstConsumer",
         "reclaimPolicy": "Delete"},
    ]


def provisioner_args(kubeconfig: Path, helper_image: str) -> list[str]:
    return [
        "start",
        f"--kubeconfig={kubeconfig}",
        f"--namespace={NAMESPACE}",
        f"--service-account-name={SERVICE_ACCOUNT}",
        f"--configmap-name={CONFIG_MAP}",
        f"--provisioner-name={PROVISIONER}",
        f"--helper-image={helper_image}",
    ]
