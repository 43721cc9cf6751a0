"""The pure parts of the chaos harness: the outage measured from acknowledgements, and naming a
pod from the address a service announces."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from parity.chaos.context import ChaosContext, wait
from parity.chaos.writers import Acks


def test_longest_gap_includes_the_window_edges():
    acks = Acks(seqs=[1, 2, 3], times=[10.0, 11.0, 19.0])
    assert acks.longest_gap(10.5, 20.0) == 8.0  # 11 → 19
    assert acks.longest_gap(19.5, 25.0) == 5.5  # no ack inside: the whole window
    assert acks.longest_gap(0.0, 10.0) == 10.0


def test_a_pod_is_named_by_its_dns_name_or_its_ip():
    pods = {"items": [{"metadata": {"name": "dev-redis-1"}, "status": {"podIP": "10.244.0.7"}}]}
    kube = SimpleNamespace(request=lambda method, path, **_: pods)
    ctx = ChaosContext(kube=kube, namespace="ns", name="dev", seed=1, duration=1, endpoints=None, credentials=None,
                       spec=None, faults=None)
    assert ctx.pod_of_address("dev-redis-2.dev-redis-headless.ns.svc") == "dev-redis-2"
    assert ctx.pod_of_address("10.244.0.7") == "dev-redis-1"
    with pytest.raises(LookupError, match="10.244.0.9"):
        ctx.pod_of_address("10.244.0.9")


def test_wait_names_what_it_waited_for_and_the_last_error():
    def failing():
        raise ConnectionError("refused")

    with pytest.raises(TimeoutError, match=r"no leader within 0s \(last error: ConnectionError: refused\)"):
        wait(failing, 0.05, "leader", interval=0.01)
    assert wait(lambda: 5, 1, "five") == 5


def _faults_with_ctr(tmp_path, script: str):
    """PodFaults whose `ctr` is a script answering as containerd's does (the unit under test is how
    its answers are read; the e2e chaos tests run the real ctr against the real node)."""
    from parity.chaos.node import PodFaults
    from parity.drill.killers import NodeRuntime

    ctr = tmp_path / "ctr"
    ctr.write_text("#!/bin/sh\n" + script)
    ctr.chmod(0o755)
    return PodFaults(kube=None, namespace="ns", runtime=NodeRuntime(str(ctr), str(tmp_path / "sock")))


def test_thawing_an_instance_the_kubelet_replaced_is_reported_not_raised(tmp_path):
    # The last argument is the container id; "gone" answers as ctr does for a task that no longer exists.
    faults = _faults_with_ctr(tmp_path, 'for a; do id="$a"; done\n'
                                        'case "$id" in gone) echo "ctr: no running task found: task gone not found" >&2; '
                                        'exit 1;; broken) echo "permission denied" >&2; exit 1;; esac\n')
    assert faults.thaw("alive") is True
    assert faults.thaw("gone") is False
    assert faults.thaw_all([("etcd-0", "alive"), ("etcd-1", "gone")]) == ["etcd-1"]


def test_thaw_all_tries_every_instance_before_it_fails(tmp_path):
    from parity.chaos.node import FaultError

    log = tmp_path / "calls"
    faults = _faults_with_ctr(tmp_path, f'for a; do id="$a"; done\necho "$id" >> {log}\n'
                                        '[ "$id" = broken ] && { echo "permission denied" >&2; exit 1; }\nexit 0\n')
    with pytest.raises(FaultError, match="could not thaw etcd-0: .*permission denied"):
        faults.thaw_all([("etcd-0", "broken"), ("etcd-1", "alive")])
    assert log.read_text().split() == ["broken", "alive"]


def test_the_sentinels_view_of_a_member_that_did_not_rejoin_names_tilt_and_flags():
    from parity.chaos.redis_freeze import _sentinels_view

    host = "dev-redis-0.dev-redis-headless.ns.svc"

    class Answering:
        def __init__(self, tilt, listed):
            self.tilt, self.listed = tilt, listed

        def info(self, section):
            assert section == "sentinel"
            return {"sentinel_tilt": self.tilt}

        def sentinel_slaves(self, group):
            assert group == "mymaster"
            return self.listed

    class Silent:
        def info(self, section):
            raise ConnectionError("refused")

    sentinel = SimpleNamespace(sentinels=[
        Answering(1, [{"ip": host, "flags": "slave,s_down"}, {"ip": "other", "flags": "slave"}]),
        Answering(0, []),
        Silent(),
    ])
    assert _sentinels_view(sentinel, "mymaster", host) == (
        "sentinel 0: tilt=1 flags=slave,s_down; sentinel 1: tilt=0 flags=not listed; sentinel 2: ConnectionError")
