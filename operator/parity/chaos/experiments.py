"""The chaos experiments by name (issue 16.2). Each runs against one ParityEnvironment on the
real node with a seed and a duration, heals what it broke, and returns a ChaosReport.

The experiments themselves need the real node (network namespaces, signals to the pods'
processes) and are not built yet: `run` is None for those, and `parity chaos run` says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from parity.chaos.report import ChaosReport


@dataclass(frozen=True)
class ExperimentSettings:
    namespace: str
    name: str
    seed: int
    duration: float


@dataclass(frozen=True)
class Experiment:
    name: str
    summary: str
    run: Callable[[ExperimentSettings], ChaosReport] | None = None


EXPERIMENTS: dict[str, Experiment] = {e.name: e for e in (
    Experiment("patroni-partition", "partition the Patroni primary from etcd and its replicas, then heal: "
               "one writable primary at any moment, no acknowledged write lost"),
    Experiment("redis-freeze", "SIGSTOP the Redis master past down-after-milliseconds, then thaw: Sentinel "
               "fails over, the old master returns as a replica"),
    Experiment("etcd-member-loss", "stop one etcd member, then two (quorum loss), then restore: the DCS "
               "recovers and Patroni re-elects"),
    Experiment("replica-latency", "add latency and loss to a replica's network (tc netem), then remove it: "
               "lag is reported and recovers"),
)}
