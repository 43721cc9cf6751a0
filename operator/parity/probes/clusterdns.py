"""Cluster DNS names for a process that runs on the host, outside the cluster.

In a pod, `<pod>.<service>.<ns>.svc` resolves through the cluster's DNS. The operator and the
CLI may instead run on the machine that hosts the real node (`make up` does that), where the
system resolver does not know the cluster domain — yet Patroni, Sentinel and the rendered
endpoints all speak in those names. With PARITY_CLUSTER_DNS set (e.g. "10.96.0.10"), names in
the cluster domain are resolved by asking that server directly; every other name still goes to
the system resolver. Nothing changes on the host.
"""

from __future__ import annotations

import os
import socket
import threading
import time

from parity.controlplane.node import dns_query_a

CLUSTER_DNS_ENV = "PARITY_CLUSTER_DNS"
CLUSTER_SUFFIXES = (".svc", ".svc.cluster.local")
_TTL_SECONDS = 5.0

_system_getaddrinfo = socket.getaddrinfo
_cache: dict[str, tuple[float, list[str]]] = {}
_lock = threading.Lock()
_server: tuple[str, int] | None = None


def _text(host) -> str | None:
    # anyio (under httpx) passes IDNA-encoded bytes, the standard library passes str.
    if isinstance(host, bytes):
        try:
            return host.decode("ascii")
        except UnicodeDecodeError:
            return None
    return host if isinstance(host, str) else None


def in_cluster_domain(host) -> bool:
    text = _text(host)
    return text is not None and text.rstrip(".").endswith(CLUSTER_SUFFIXES)


def qualified(host: str) -> str:
    host = host.rstrip(".")
    return host + ".cluster.local" if host.endswith(".svc") else host


def _lookup(host: str) -> list[str]:
    name = qualified(host)
    now = time.monotonic()
    with _lock:
        hit = _cache.get(name)
        if hit and hit[0] > now:
            return hit[1]
    assert _server is not None
    addresses = dns_query_a(_server[0], _server[1], name, timeout=2.0)
    with _lock:
        _cache[name] = (now + _TTL_SECONDS, addresses)
    return addresses


def _getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
    if _server is not None and in_cluster_domain(host) and family in (0, socket.AF_INET):
        try:
            addresses = _lookup(_text(host))
        except OSError as err:
            raise socket.gaierror(socket.EAI_AGAIN, f"cluster DNS {_server[0]}:{_server[1]} did not answer for "
                                                    f"{host}: {err}") from None
        if not addresses:
            raise socket.gaierror(socket.EAI_NONAME, f"{host} is not known to the cluster DNS")
        results = []
        for address in addresses:
            results.extend(_system_getaddrinfo(address, port, socket.AF_INET, type, proto, flags | socket.AI_NUMERICHOST))
        return results
    return _system_getaddrinfo(host, port, family, type, proto, flags)


def install_from_env(environ=os.environ) -> bool:
    """Resolve the cluster domain through PARITY_CLUSTER_DNS ("IP" or "IP:PORT") when it is set."""
    global _server
    value = (environ.get(CLUSTER_DNS_ENV) or "").strip()
    if not value:
        return False
    host, _, port = value.partition(":")
    _server = (host, int(port or 53))
    socket.getaddrinfo = _getaddrinfo
    return True
