"""Restarting one control-plane process: which flags it comes back with, where it says it is healthy."""

from __future__ import annotations

import json

import pytest

from parity.controlplane import ControlPlane
from parity.controlplane.cluster import ControlPlaneError
from parity.controlplane.restart import flag_value, health_url, override_args


def test_override_replaces_a_flag_in_place_and_appends_new_ones():
    args = ["--etcd-servers=http://127.0.0.1:1", "--secure-port=6443", "--allow-privileged=true"]
    assert override_args(args, ["--secure-port=7000", "--min-request-timeout=5"]) == [
        "--etcd-servers=http://127.0.0.1:1", "--secure-port=7000", "--allow-privileged=true",
        "--min-request-timeout=5"]


def test_override_drops_later_duplicates_and_the_last_override_wins():
    args = ["--v=1", "--a=1", "--v=2"]
    assert override_args(args, ["--v=3", "--v=4"]) == ["--v=4", "--a=1"]


def test_no_override_keeps_the_arguments():
    args = ["--unsafe-no-fsync", "--name=x"]
    assert override_args(args, []) == args


def test_flag_value_is_the_last_one_given():
    assert flag_value(["--x=1", "--y", "--x=2"], "--x") == "2"
    assert flag_value(["--y"], "--y") is None
    assert flag_value([], "--x") is None


def test_health_urls_come_from_the_processes_own_arguments():
    etcd = ["--listen-client-urls=http://127.0.0.1:2379", "--advertise-client-urls=http://127.0.0.1:2380/"]
    assert health_url("etcd", etcd) == "http://127.0.0.1:2380/health"
    assert health_url("kube-apiserver", ["--secure-port=6443"]) == "https://127.0.0.1:6443/readyz"
    with pytest.raises(ValueError, match="only etcd, kube-apiserver"):
        health_url("kwok", [])
    with pytest.raises(ValueError, match="--secure-port"):
        health_url("kube-apiserver", [])


def test_restart_refuses_processes_it_cannot_wait_for_and_unrecorded_ones(tmp_path):
    plane = ControlPlane(tmp_path, bin_dir=tmp_path)
    with pytest.raises(ControlPlaneError, match="cannot restart 'kwok'"):
        plane.restart("kwok")
    (tmp_path / "pids.json").write_text(json.dumps({"etcd": 1}))
    with pytest.raises(ControlPlaneError, match="etcd was not started from"):
        plane.restart("etcd")
