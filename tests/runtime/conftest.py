"""Real servers for the runtime tests, shared by the whole session.

An etcd cluster of 3 members (the etcd the project builds: PARITY_ETCD_BIN or the control-plane
cache), a Patroni cluster of 3 PostgreSQL 15 nodes using it (etcd3 DCS, synchronous_mode on),
and Redis: a primary, 2 replicas and 3 Sentinels with quorum 2. Missing binaries fail the tests
with a message naming what to install or build; they never skip.

Tests that break a cluster (kill a leader, switch synchronous_mode off) ask for the
`patroni` / `redis` fixtures, which restart killed nodes and wait until the cluster is whole
again before handing it out, so one test's damage never leaks into the next.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import servers  # noqa: E402


def pytest_collection_modifyitems(items):
    # Everything under tests/runtime needs real servers: mark it even if a module forgets to.
    for item in items:
        if Path(str(item.fspath)).resolve().parent == Path(__file__).resolve().parent:
            item.add_marker(pytest.mark.runtime)


def start_cluster(cluster, what: str) -> None:
    """Start, or fail the test (never skip) with the harness's message and log tails."""
    failure = None
    try:
        cluster.start()
    except servers.HarnessError as err:
        failure = f"{what}: {err}"
    if failure:
        cluster.stop()
        pytest.fail(failure, pytrace=False)


@pytest.fixture(scope="session")
def runtime_base():
    """One directory for every server of the session, watched by a reaper process that cleans
    up if this process dies without tearing down."""
    failure = None
    try:
        servers.check_binaries()
        etcd_binary = servers.find_etcd_binary()
    except servers.HarnessError as err:
        failure = str(err)
    if failure:
        pytest.fail(failure, pytrace=False)
    base = servers.make_base_dir("parity-rt-")
    reaper = servers.Reaper(base)
    reaper.start()
    try:
        yield base, etcd_binary, reaper.registry
    finally:
        reaper.stop(remove=True)


@pytest.fixture(scope="session")
def etcd_cluster(runtime_base):
    base, binary, registry = runtime_base
    cluster = servers.EtcdCluster(base / "etcd", size=3, binary=binary, registry=registry)
    start_cluster(cluster, "etcd cluster did not start")
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def patroni_cluster(runtime_base, etcd_cluster):
    base, _, registry = runtime_base
    cluster = servers.PatroniCluster(base / "patroni", etcd_cluster.endpoints, synchronous_mode=True, registry=registry)
    start_cluster(cluster, "Patroni cluster did not start")
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def redis_cluster(runtime_base):
    base, _, registry = runtime_base
    cluster = servers.RedisCluster(base / "redis", replicas=2, sentinels=3, quorum=2, registry=registry)
    start_cluster(cluster, "Redis + Sentinel did not start")
    yield cluster
    cluster.stop()


@pytest.fixture
def patroni(patroni_cluster):
    """The Patroni cluster whole: 3 members, a leader, 2 streaming replicas, synchronous_mode on."""
    # Restart what a previous test killed first (not insisting on a synchronous standby, which a
    # test may have switched off), then put synchronous_mode back and wait for its standby.
    patroni_cluster.synchronous_mode = False
    patroni_cluster.ensure_healthy()
    if patroni_cluster.dcs_config().get("synchronous_mode") is not True:
        patroni_cluster.patch_config({"synchronous_mode": True})
    patroni_cluster.synchronous_mode = True
    patroni_cluster.wait_healthy()
    return patroni_cluster


@pytest.fixture
def redis(redis_cluster):
    """Redis whole: a primary with 2 online replicas, 3 Sentinels agreeing on it."""
    redis_cluster.ensure_healthy()
    return redis_cluster


@pytest.fixture
def patroni_dsn(patroni_cluster):
    return patroni_cluster.dsn_without_host
