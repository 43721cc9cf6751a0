"""Watching the PostgreSQL members from outside during a fault: which of them accept writes
(`pg_is_in_recovery()` false), sampled on every member's pod IP, and Patroni's view of the leader."""

from __future__ import annotations

import threading
import time

import httpx


def member_ips(ctx) -> dict[str, str]:
    return {p["metadata"]["name"]: p["status"]["podIP"] for p in ctx.pods("postgres")
            if (p.get("status") or {}).get("podIP")}


def patroni_leader(ctx, exclude: str | None = None) -> str | None:
    """The running leader as a member other than `exclude` reports it (its own view)."""
    for name, ip in member_ips(ctx).items():
        if name == exclude:
            continue
        try:
            cluster = httpx.get(f"http://{ip}:8008/cluster", timeout=2).json()
        except (httpx.HTTPError, ValueError):
            continue
        for member in cluster.get("members", []):
            if member.get("role") in ("leader", "standby_leader") and member.get("state") == "running":
                return member.get("name")
    return None


def member_role(ip: str) -> str | None:
    try:
        return httpx.get(f"http://{ip}:8008/patroni", timeout=2).json().get("role")
    except (httpx.HTTPError, ValueError):
        return None


class WritableWatch(threading.Thread):
    """Samples every member; records the largest number that accepted writes at one moment."""

    def __init__(self, ips: dict[str, str], user: str, password: str | None, interval: float = 0.5):
        super().__init__(daemon=True)
        self.ips = ips
        self.user = user
        self.password = password
        self.interval = interval
        self.stop = threading.Event()
        self.samples = 0
        self.max_writable = 0
        self.worst: list[str] = []

    def writable(self, ip: str) -> bool:
        import psycopg

        try:
            with psycopg.connect(host=ip, port=5432, user=self.user, password=self.password, dbname="postgres",
                                 connect_timeout=1, autocommit=True) as conn:
                return not conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]
        except Exception:  # noqa: BLE001 - down or unreachable: not writable
            return False

    def run(self) -> None:
        while not self.stop.is_set():
            writable = [name for name, ip in self.ips.items() if self.writable(ip)]
            self.samples += 1
            if len(writable) > self.max_writable:
                self.max_writable, self.worst = len(writable), writable
            time.sleep(self.interval)
