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
