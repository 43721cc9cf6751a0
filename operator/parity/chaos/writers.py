"""Clients that write through the environment's Services during an experiment, as an application
would, recording which writes were acknowledged and when (monotonic seconds)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

TABLE = "parity_chaos"
REDIS_KEY = "parity_chaos"


@dataclass
class Acks:
    seqs: list[int] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    failed: int = 0
    last_error: str = ""

    def add(self, seq: int) -> None:
        self.seqs.append(seq)
        self.times.append(time.monotonic())

    def longest_gap(self, start: float, end: float) -> float:
        """The longest time without an acknowledged write within [start, end] (edges included)."""
        inside = [t for t in self.times if start <= t <= end]
        points = [start, *inside, end]
        return max(b - a for a, b in zip(points, points[1:]))


class Writer(threading.Thread):
    def __init__(self, interval: float = 0.05):
        super().__init__(daemon=True)
        self.acks = Acks()
        self.interval = interval
        self.stop = threading.Event()

    def write(self, seq: int) -> None:
        raise NotImplementedError

    def reset(self) -> None:
        """Drop the connection after a failure, so the next write finds the current primary."""

    def run(self) -> None:
        seq = 0
        while not self.stop.is_set():
            seq += 1
            try:
                self.write(seq)
                self.acks.add(seq)
            except Exception as err:  # noqa: BLE001 - not acknowledged: allowed to be missing
                self.acks.failed += 1
                self.acks.last_error = f"{type(err).__name__}: {str(err)[:160]}"
                self.reset()
                time.sleep(0.2)
            time.sleep(self.interval)


class RedisWriter(Writer):
    """RPUSH through the master the Sentinels name."""

    def __init__(self, sentinels: list[tuple[str, int]], group: str, password: str | None, run_id: str):
        super().__init__()
        from redis.sentinel import Sentinel

        self.key = f"{REDIS_KEY}:{run_id}"
        # The Sentinels require the same password as Redis (render/redis.py).
        self.sentinel = Sentinel(sentinels, socket_timeout=1, password=None,
                                 sentinel_kwargs={"socket_timeout": 1, "password": password})
        self.group = group
        self.password = password

    def master(self):
        return self.sentinel.master_for(self.group, socket_timeout=1, password=self.password)

    def write(self, seq: int) -> None:
        self.master().rpush(self.key, seq)

    def present(self) -> set[int]:
        return {int(v) for v in self.master().lrange(self.key, 0, -1)}


class PostgresWriter(Writer):
    """INSERT through the environment's primary Service."""

    def __init__(self, conninfo: str, run_id: str):
        super().__init__()
        import psycopg

        self.psycopg = psycopg
        self.conninfo = conninfo
        self.run_id = run_id
        self.conn = None
        with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (run text, seq bigint, PRIMARY KEY (run, seq))")

    def write(self, seq: int) -> None:
        if self.conn is None:
            self.conn = self.psycopg.connect(self.conninfo, autocommit=True, connect_timeout=2)
        self.conn.execute(f"INSERT INTO {TABLE} (run, seq) VALUES (%s, %s)", (self.run_id, seq))

    def reset(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:  # noqa: BLE001 - the server is gone; closing is a courtesy
                pass
            self.conn = None

    def present(self) -> set[int]:
        with self.psycopg.connect(self.conninfo, autocommit=True, connect_timeout=5) as conn:
            return {r[0] for r in conn.execute(f"SELECT seq FROM {TABLE} WHERE run = %s", (self.run_id,))}
