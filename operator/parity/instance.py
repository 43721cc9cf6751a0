"""Which operator process answers on a port: its identity on the liveness endpoint, the check a
dev loop runs against it, and the start-up check that its ports are free.

Why: a readiness probe that only asks "does something answer 200 on :8081" is satisfied by any
other operator on that port (`make up`'s, another checkout's). Whoever starts `parity run` can
pass a token in PARITY_INSTANCE_TOKEN; the liveness endpoint reports it (and the pid) under the
probe id `instance`, and `python -m parity.instance URL TOKEN` succeeds only when that process
answers. The Tiltfile uses both.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import sys
import urllib.error
import urllib.request
from urllib.parse import urlsplit

TOKEN_ENV = "PARITY_INSTANCE_TOKEN"
PROBE_ID = "instance"


def identity(environ=os.environ, pid: int | None = None) -> dict:
    """What the liveness endpoint reports about this process (never a secret: the token only
    tells two dev-loop processes apart)."""
    return {"pid": os.getpid() if pid is None else pid, "token": environ.get(TOKEN_ENV) or None}


def answered_by(body: bytes, token: str) -> bool:
    """Whether a liveness response (kopf: {probe id: result}) comes from the process holding token."""
    try:
        report = json.loads(body or b"null")
    except ValueError:
        return False
    if not isinstance(report, dict):
        return False
    instance = report.get(PROBE_ID)
    return isinstance(instance, dict) and bool(token) and instance.get("token") == token


def probe(url: str, token: str, timeout: float = 2.0) -> tuple[bool, str]:
    """(ok, why): whether the operator holding token answers at url."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            body = resp.read()
    except (urllib.error.URLError, OSError) as err:
        return False, f"no answer from {url}: {getattr(err, 'reason', err)}"
    if answered_by(body, token):
        return True, f"{url} answered by this operator"
    return False, f"{url} is answered by another process (not the operator holding this token)"


def port_taken(host: str, port: int) -> bool:
    """Whether binding host:port fails because something else holds it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as err:
            if err.errno == errno.EADDRINUSE:
                return True
            raise
    return False


def planned_ports(liveness_url: str | None, metrics_port: int) -> list[tuple[str, str, int]]:
    """(what, host, port) for every listener `parity run` will open; port 0 is never taken."""
    ports = [("metrics (PARITY_METRICS_PORT)", "0.0.0.0", metrics_port)]
    if liveness_url:
        parts = urlsplit(liveness_url)
        if parts.port:
            ports.append(("liveness (--liveness)", parts.hostname or "0.0.0.0", parts.port))
    return [p for p in ports if p[2]]


def taken_ports_message(ports: list[tuple[str, str, int]]) -> str | None:
    """One line naming the ports another process holds, or None when all are free."""
    taken = [f"{port} ({what})" for what, host, port in ports if port_taken(host, port)]
    if not taken:
        return None
    return ("port " + ", ".join(taken) + " already in use by another process (another operator, `make up`'s?); "
            "stop it or choose other ports")


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m parity.instance LIVENESS_URL TOKEN", file=sys.stderr)
        return 2
    ok, why = probe(argv[0], argv[1])
    print(why, file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
