"""Probes pointed at nothing, at a wrong host, or at a service that never answers return a
ProbeResult error naming the endpoint; they never raise and never hang past their timeout
(a hang would trip the pytest timeout below)."""

from __future__ import annotations

import asyncio
import socket
import threading

import pytest

import servers
from parity.probes.etcd import probe_etcd
from parity.probes.patroni import probe_patroni
from parity.probes.postgres import probe_postgres
from parity.probes.redis import probe_redis

pytestmark = [pytest.mark.runtime, pytest.mark.timeout(60)]

WRONG_HOST = "no-such-host.invalid"


@pytest.fixture
def dead_port() -> int:
    (port,) = servers.allocate_ports(1)
    return port


@pytest.fixture
def silent_port():
    """A TCP port that accepts connections and never says a word: a hung service."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    listener.close()


def run(coro):
    return asyncio.run(coro)


def test_dead_ports(dead_port):
    results = [
        run(probe_etcd([f"http://127.0.0.1:{dead_port}"], timeout=2)),
        run(probe_patroni(f"http://127.0.0.1:{dead_port}", "user=postgres dbname=postgres", timeout=2)),
        run(probe_redis([f"127.0.0.1:{dead_port}"], [f"127.0.0.1:{dead_port}"], timeout=2)),
        run(probe_postgres(f"host=127.0.0.1 port={dead_port} user=postgres dbname=postgres", timeout=2)),
    ]
    for result in results:
        assert not result.ok and result.values == {}
        assert f"127.0.0.1:{dead_port}" in result.error, result.error
        assert str(dead_port) in result.endpoint


def test_wrong_host():
    results = [
        run(probe_etcd([f"http://{WRONG_HOST}:2379"], timeout=2)),
        run(probe_patroni(f"http://{WRONG_HOST}:8008", None, timeout=2)),
        run(probe_redis([f"{WRONG_HOST}:6379"], [], timeout=2)),
        run(probe_postgres(f"host={WRONG_HOST} user=postgres dbname=postgres", timeout=2)),
    ]
    for result in results:
        assert not result.ok
        assert WRONG_HOST in result.error and WRONG_HOST in result.endpoint, result.error


def test_services_that_never_answer_time_out(silent_port):
    results = [
        run(probe_etcd([f"http://127.0.0.1:{silent_port}"], timeout=1)),
        run(probe_patroni(f"http://127.0.0.1:{silent_port}", None, timeout=1)),
        run(probe_redis([f"127.0.0.1:{silent_port}"], [f"127.0.0.1:{silent_port}"], timeout=1)),
        run(probe_postgres(f"host=127.0.0.1 port={silent_port} user=postgres dbname=postgres", timeout=1)),
    ]
    for result in results:
        assert not result.ok
        assert f"127.0.0.1:{silent_port}" in result.error, result.error
        assert "timeout" in result.error.lower() or "timed out" in result.error.lower(), result.error


def test_wrong_password_is_reported_without_the_password(patroni):
    leader = patroni.node(patroni.leader())
    secret = "definitely-wrong-secret"
    result = run(probe_postgres(f"host=127.0.0.1 port={leader.pg_port} user=postgres password={secret} dbname=postgres", timeout=5))
    assert not result.ok
    assert "password authentication failed" in result.error
    assert secret not in result.error and secret not in result.endpoint

    # Through Patroni: the REST part still works, PostgreSQL's failure is a problem, not an error.
    result = run(probe_patroni(patroni.api_urls, f"user=postgres password={secret} dbname=postgres", timeout=5))
    assert result.ok
    assert result.details["leader"] == leader.name
    assert "password authentication failed" in result.details["postgresError"]
    assert secret not in str(result.details)
    assert not any(k.startswith("postgres.parameters.") for k in result.values)
