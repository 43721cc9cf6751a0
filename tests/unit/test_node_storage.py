"""The real node's volume provisioner: the objects applied and the helper's scripts."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import yaml

from parity.controlplane import storage
from parity.images.recipes import recipe


def _objects(tmp_path: Path) -> dict[tuple[str, str], dict]:
    objs = storage.build_storage_objects(tmp_path / "volumes", recipe(storage.HELPER_RECIPE).reference)
    return {(o["kind"], o["metadata"]["name"]): o for o in objs}


def test_the_default_class_is_local_path_and_waits_for_the_pod(tmp_path):
    sc = _objects(tmp_path)[("StorageClass", "standard")]
    assert sc["provisioner"] == "rancher.io/local-path"
    assert sc["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"
    # The directory is made on the node the pod lands on: binding must wait for scheduling.
    assert sc["volumeBindingMode"] == "WaitForFirstConsumer"
    assert sc["reclaimPolicy"] == "Delete"


def test_the_config_names_the_host_directory_and_the_helper_image(tmp_path):
    objs = _objects(tmp_path)
    data = objs[("ConfigMap", storage.CONFIG_MAP)]["data"]
    assert objs[("ConfigMap", storage.CONFIG_MAP)]["metadata"]["namespace"] == storage.NAMESPACE
    config = json.loads(data["config.json"])
    assert config["nodePathMap"] == [{"node": "DEFAULT_PATH_FOR_NON_LISTED_NODES", "paths": [str(tmp_path / "volumes")]}]
    pod = yaml.safe_load(data["helperPod.yaml"])
    assert pod["spec"]["containers"][0]["image"] == "parity.local/volume-helper:1"
    assert ("ServiceAccount", storage.SERVICE_ACCOUNT) in objs and ("Namespace", storage.NAMESPACE) in objs


def test_setup_makes_a_directory_any_user_can_write_and_teardown_removes_it(tmp_path):
    vol = tmp_path / "pvc-1_ns_data"
    env = {**os.environ, "VOL_DIR": str(vol)}
    subprocess.run(["sh", "-c", storage.SETUP_SCRIPT], env=env, check=True)
    # Not subject to the caller's umask: a pod of any uid writes here.
    assert stat.S_IMODE(vol.stat().st_mode) == 0o777
    (vol / "file").write_text("x")
    subprocess.run(["sh", "-c", storage.TEARDOWN_SCRIPT], env=env, check=True)
    assert not vol.exists()


def test_the_provisioner_reads_its_config_map_with_the_admin_kubeconfig(tmp_path):
    args = storage.provisioner_args(tmp_path / "kubeconfig", "parity.local/volume-helper:1")
    assert args[0] == "start"
    assert f"--kubeconfig={tmp_path / 'kubeconfig'}" in args
    assert {f"--namespace={storage.NAMESPACE}", f"--configmap-name={storage.CONFIG_MAP}",
            f"--service-account-name={storage.SERVICE_ACCOUNT}", "--provisioner-name=rancher.io/local-path",
            "--helper-image=parity.local/volume-helper:1"} <= set(args)
