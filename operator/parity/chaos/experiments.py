"""The chaos experiments by name (issue 16.2). Each runs against one ParityEnvironment on the
real node with a seed and a duration, heals what it broke, and returns a ChaosReport.

The experiments need a node on this machine (signals to the pods' processes through containerd,
iptables in the pods' network namespaces). One that cannot run here has `run` None and a
`blocked` reason, which `parity chaos run` prints.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from parity.chaos import etcd_loss, patroni_partition, redis_freeze
from parity.chaos.context import ChaosContext
from parity.chaos.report import ChaosReport


@dataclass(frozen=True)
class Experiment:
    name: str
    summary: str
    run: Callable[[ChaosContext], ChaosReport] | None = None
    blocked: str = ""


EXPERIMENTS: dict[str, Experiment] = {e.name: e for e in (
    Experiment("patroni-partition", "partition the Patroni primary from etcd and its replicas, then heal: "
               "one writable primary at any moment, no acknowledged write lost", run=patroni_partition.run),
    Experiment("redis-freeze", "SIGSTOP the Redis master past down-after-milliseconds, then thaw: Sentinel "
               "fails over, the old master returns as a replica", run=redis_freeze.run),
    Experiment("etcd-member-loss", "stop one etcd member, then two (quorum loss), then restore: the DCS "
               "recovers and Patroni re-elects", run=etcd_loss.run),
    Experiment("replica-latency", "add latency and loss to a replica's network (tc netem), then remove it: "
               "lag is reported and recovers",
               blocked="not built: it needs the kernel's sch_netem (tc netem), which the machines this project "
                       "is built and tested on lack ('Specified qdisc kind is unknown'), so it could not be verified"),
)}
