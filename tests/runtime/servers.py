"""Start and stop real etcd, Patroni/PostgreSQL 15 and Redis + Sentinel processes on 127.0.0.1.

Shared by the runtime test fixtures and bench/bench_failover.py. Every process runs in its own
session, so stopping kills its whole process group; PostgreSQL's postmaster is put in a session of
its own by Patroni, so it is found through postmaster.pid and killed as a group too. Nothing here
fakes a server: these are the Debian packages' binaries and the etcd the project builds.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from parity.procs import children_of, pid_alive

PG_BIN_DIR = Path("/usr/lib/postgresql/15/bin")
PATRONI_BIN = Path("/usr/bin/patroni")
REDIS_SERVER_BIN = "redis-server"
REDIS_SENTINEL_BIN = "redis-sentinel"
# Debian's interpreter and packages, not our venv: Patroni runs on python3-etcd / psycopg2 there.
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

SUPERUSER = "postgres"
SUPERUSER_PASSWORD = "rt-super-secret"
REPLICATION_PASSWORD = "rt-repl-secret"
REDIS_MASTER_GROUP = "mymaster"
PATRONI_SCOPE = "parity-rt"


class HarnessError(RuntimeError):
    """A server could not be started; the message names the binary or the log to read."""


def find_etcd_binary() -> str:
    """PARITY_ETCD_BIN, else the etcd that tools/controlplane/build.sh put in the cache."""
    explicit = os.environ.get("PARITY_ETCD_BIN")
    if explicit:
        if not os.access(explicit, os.X_OK):
            raise HarnessError(f"PARITY_ETCD_BIN={explicit} is not an executable file")
        return explicit
    cache = os.environ.get("PARITY_CACHE", os.path.expanduser("~/.cache/parity"))
    pattern = os.path.join(cache, "controlplane", "*", "bin", "etcd")
    found = sorted(p for p in glob.glob(pattern) if os.access(p, os.X_OK))
    if not found:
        raise HarnessError(
            f"no etcd binary: set PARITY_ETCD_BIN or run `bash tools/controlplane/build.sh` (looked for {pattern})"
        )
    return found[-1]


def check_binaries() -> None:
    """Fail early, naming the Debian package, when a server binary is missing."""
    missing = []
    for path, package in (
        (PG_BIN_DIR / "postgres", "postgresql-15"),
        (PATRONI_BIN, "patroni"),
    ):
        if not path.exists():
            missing.append(f"{path} (apt package {package})")
    for name, package in ((REDIS_SERVER_BIN, "redis-server"), (REDIS_SENTINEL_BIN, "redis-sentinel")):
        if shutil.which(name) is None:
            missing.append(f"{name} (apt package {package})")
    if missing:
        raise HarnessError("missing server binaries: " + ", ".join(missing))


def allocate_ports(count: int) -> list[int]:
    """Distinct free ports; the sockets stay bound until all are chosen so none repeats."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


def unprivileged_user() -> str | None:
    """PostgreSQL refuses to run as root: when we are root, run it as the `postgres` system user."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    raise HarnessError("running as root and neither the `postgres` nor the `nobody` user exists")


def make_base_dir(prefix: str) -> Path:
    # Not pytest's tmp_path: that lives under a 0700 directory the postgres user cannot enter.
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    return path


def chown_tree(path: Path, user: str | None) -> None:
    if user is None:
        return
    entry = pwd.getpwnam(user)
    for root, dirs, files in os.walk(path):
        os.chown(root, entry.pw_uid, entry.pw_gid)
        for name in dirs + files:
            os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid)


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass
class Process:
    """One server process, leader of its own process group."""

    name: str
    argv: list[str]
    log: Path
    user: str | None = None
    env: dict[str, str] | None = None
    cwd: Path | None = None
    # File the Reaper reads: one process-group id per line.
    registry: Path | None = None
    popen: subprocess.Popen | None = None

    def start(self) -> None:
        handle = open(self.log, "ab")
        try:
            self.popen = subprocess.Popen(
                self.argv,
                stdout=handle,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                user=self.user,
                group=pwd.getpwnam(self.user).pw_gid if self.user else None,
                extra_groups=[] if self.user else None,
                env=self.env,
                cwd=self.cwd,
            )
        finally:
            handle.close()
        if self.registry is not None:
            with open(self.registry, "a") as registry:
                registry.write(f"{self.popen.pid}\n")

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        if self.popen is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=10)


def wait_until(predicate, timeout: float, what: str, logs: list[Path] = (), interval: float = 0.2):
    """Poll predicate until it returns something truthy; on timeout raise naming `what` with log tails."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            result = predicate()
            if result:
                return result
        except Exception as err:  # noqa: BLE001 - servers refuse connections while starting
            last_error = err
        time.sleep(interval)
    message = f"timed out after {timeout:.0f}s waiting for {what}"
    if last_error is not None:
        message += f" (last error: {last_error})"
    for log in logs:
        message += f"\n--- {log} ---\n{tail(log)}"
    raise HarnessError(message)


def http_json(url: str, method: str = "GET", body: dict | None = None, timeout: float = 2.0):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - local test servers
        return json.loads(response.read() or b"null")


def http_status(url: str, timeout: float = 2.0) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


# --------------------------------------------------------------------------------------------- etcd


@dataclass
class EtcdCluster:
    base_dir: Path
    size: int = 3
    binary: str = ""
    registry: Path | None = None
    processes: list[Process] = field(default_factory=list)
    client_ports: list[int] = field(default_factory=list)

    @property
    def endpoints(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.client_ports]

    def start(self, timeout: float = 60) -> None:
        self.binary = self.binary or find_etcd_binary()
        ports = allocate_ports(2 * self.size)
        self.client_ports, peer_ports = ports[: self.size], ports[self.size :]
        names = [f"etcd{i}" for i in range(self.size)]
        initial = ",".join(f"{n}=http://127.0.0.1:{p}" for n, p in zip(names, peer_ports))
        for name, client, peer in zip(names, self.client_ports, peer_ports):
            data = self.base_dir / name
            data.mkdir(parents=True)
            data.chmod(0o700)
            argv = [
                self.binary,
                f"--name={name}",
                f"--data-dir={data}",
                f"--listen-client-urls=http://127.0.0.1:{client}",
                f"--advertise-client-urls=http://127.0.0.1:{client}",
                f"--listen-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-cluster={initial}",
                "--initial-cluster-state=new",
                f"--initial-cluster-token=parity-rt-{os.getpid()}",
                "--heartbeat-interval=100",
                "--election-timeout=1000",
                "--log-level=warn",
            ]
            process = Process(name, argv, self.base_dir / f"{name}.log", registry=self.registry)
            process.start()
            self.processes.append(process)
        logs = [p.log for p in self.processes]
        for endpoint in self.endpoints:
            wait_until(lambda e=endpoint: http_json(f"{e}/health").get("health") == "true", timeout, f"etcd {endpoint} healthy", logs)

    def stop(self) -> None:
        for process in self.processes:
            process.kill()


# ------------------------------------------------------------------------------------------ Patroni


@dataclass
class PatroniNode:
    name: str
    api_port: int
    pg_port: int
    directory: Path
    process: Process | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def data_dir(self) -> Path:
        return self.directory / "data"

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data_dir / "postmaster.pid").read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None

    def kill(self) -> None:
        """Like a lost node: Patroni, the postmaster and its children, SIGKILL."""
        postmaster = self.postmaster_pid()
        if self.process is not None:
            self.process.kill()
        if postmaster:
            # PostgreSQL children call setsid(), so there is no process group to kill: take them one by one.
            for pid in [postmaster, *children_of(postmaster)]:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            # The postmaster is not our child: wait for it to vanish so its port is free again.
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and pid_alive(postmaster):
                time.sleep(0.05)


@dataclass
class PatroniCluster:
    """Three PostgreSQL 15 nodes under Patroni, etcd3 as DCS."""

    base_dir: Path
    etcd_endpoints: list[str]
    size: int = 3
    synchronous_mode: bool = True
    ttl: int = 10
    loop_wait: int = 2
    retry_timeout: int = 4
    scope: str = PATRONI_SCOPE
    nodes: list[PatroniNode] = field(default_factory=list)
    user: str | None = None
    registry: Path | None = None

    @property
    def api_urls(self) -> list[str]:
        return [n.api_url for n in self.nodes]

    @property
    def dsn_without_host(self) -> str:
        """Credentials only: the probes and drills add the leader's host and port from Patroni."""
        return f"user={SUPERUSER} password={SUPERUSER_PASSWORD} dbname=postgres connect_timeout=3"

    def dsn_for(self, node: PatroniNode) -> str:
        return f"host=127.0.0.1 port={node.pg_port} {self.dsn_without_host}"

    def node(self, name: str) -> PatroniNode:
        return next(n for n in self.nodes if n.name == name)

    def start(self, timeout: float = 120) -> None:
        self.user = unprivileged_user()
        ports = allocate_ports(2 * self.size)
        hosts = ",".join(e.removeprefix("http://") for e in self.etcd_endpoints)
        for i in range(self.size):
            node = PatroniNode(f"pg{i}", ports[i], ports[self.size + i], self.base_dir / f"pg{i}")
            node.directory.mkdir(parents=True)
            (node.directory / "patroni.yml").write_text(json.dumps(self._config(node, hosts), indent=2))
            self.nodes.append(node)
        chown_tree(self.base_dir, self.user)
        for node in self.nodes:
            self.start_node(node)
        self.wait_healthy(timeout)

    def _config(self, node: PatroniNode, etcd_hosts: str) -> dict:
        # JSON is YAML: Patroni reads this file as YAML.
        return {
            "scope": self.scope,
            "name": node.name,
            "log": {"level": "INFO"},
            "restapi": {"listen": f"127.0.0.1:{node.api_port}", "connect_address": f"127.0.0.1:{node.api_port}"},
            "etcd3": {"hosts": etcd_hosts, "protocol": "http"},
            "bootstrap": {
                "dcs": {
                    "ttl": self.ttl,
                    "loop_wait": self.loop_wait,
                    "retry_timeout": self.retry_timeout,
                    "maximum_lag_on_failover": 1048576,
                    "synchronous_mode": self.synchronous_mode,
                    "postgresql": {
                        "use_pg_rewind": True,
                        "remove_data_directory_on_rewind_failure": True,
                        "remove_data_directory_on_diverged_timelines": True,
                        "parameters": {
                            "wal_level": "replica",
                            "hot_standby": "on",
                            "max_wal_senders": 10,
                            "max_replication_slots": 10,
                            "wal_keep_size": "128MB",
                            "max_connections": 50,
                            "shared_buffers": "16MB",
                        },
                    },
                },
                "initdb": [{"encoding": "UTF8"}, "data-checksums", {"auth": "md5"}],
            },
            "postgresql": {
                "listen": f"127.0.0.1:{node.pg_port}",
                "connect_address": f"127.0.0.1:{node.pg_port}",
                "data_dir": str(node.data_dir),
                "bin_dir": str(PG_BIN_DIR),
                "pgpass": str(node.directory / "pgpass"),
                "authentication": {
                    "superuser": {"username": SUPERUSER, "password": SUPERUSER_PASSWORD},
                    "replication": {"username": "replicator", "password": REPLICATION_PASSWORD},
                    "rewind": {"username": SUPERUSER, "password": SUPERUSER_PASSWORD},
                },
                "pg_hba": [
                    "local all all md5",
                    "host replication replicator 127.0.0.1/32 md5",
                    "host all all 127.0.0.1/32 md5",
                ],
                "parameters": {"unix_socket_directories": str(node.directory)},
            },
        }

    def start_node(self, node: PatroniNode) -> None:
        env = {"PATH": SYSTEM_PATH, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "HOME": str(node.directory)}
        node.process = Process(
            node.name,
            ["/usr/bin/python3", str(PATRONI_BIN), str(node.directory / "patroni.yml")],
            node.directory / "patroni.log",
            user=self.user,
            env=env,
            cwd=node.directory,
            registry=self.registry,
        )
        node.process.start()
        # For kill commands in tests: the Patroni process of this member.
        (node.directory / "patroni.pid").write_text(f"{node.process.pid}\n")

    def cluster_state(self) -> dict | None:
        for url in self.api_urls:
            with contextlib.suppress(OSError, ValueError):
                return http_json(f"{url}/cluster")
        return None

    def leader(self) -> str | None:
        state = self.cluster_state() or {}
        for member in state.get("members", []):
            if member.get("role") == "leader" and member.get("state") == "running":
                return member["name"]
        return None

    def _healthy(self) -> bool:
        state = self.cluster_state()
        if not state:
            return False
        members = state.get("members", [])
        leaders = [m for m in members if m.get("role") == "leader" and m.get("state") == "running"]
        streaming = [m for m in members if m.get("role") in ("replica", "sync_standby") and m.get("state") in ("streaming", "running")]
        if len(leaders) != 1 or len(streaming) != self.size - 1:
            return False
        if self.synchronous_mode and not any(m.get("role") == "sync_standby" for m in members):
            return False
        # /cluster's state comes from the DCS; ask the leader itself that the replicas really stream.
        leader = self.node(leaders[0]["name"])
        status = http_json(f"{leader.api_url}/patroni")
        return len([r for r in status.get("replication", []) if r.get("state") == "streaming"]) == self.size - 1

    def wait_healthy(self, timeout: float = 120) -> None:
        wait_until(self._healthy, timeout, "a Patroni leader and streaming replicas", [n.directory / "patroni.log" for n in self.nodes])

    def ensure_healthy(self, timeout: float = 120) -> None:
        """Restart nodes a test killed and wait until the cluster is whole again."""
        for node in self.nodes:
            if node.process is None or not node.process.alive():
                node.kill()
                self.start_node(node)
        self.wait_healthy(timeout)

    def _answering_api(self) -> str:
        for url in self.api_urls:
            with contextlib.suppress(OSError, ValueError):
                http_json(f"{url}/cluster")
                return url
        raise HarnessError("no Patroni REST API answers")

    def dcs_config(self) -> dict:
        return http_json(f"{self._answering_api()}/config")

    def patch_config(self, patch: dict, attempts: int = 20) -> dict:
        # Patroni answers 409 when the DCS config changed between its read and its write (its
        # own loop touches it around a leader change); the patch is then simply tried again.
        for attempt in range(attempts):
            try:
                return http_json(f"{self._answering_api()}/config", method="PATCH", body=patch)
            except urllib.error.HTTPError as err:
                if err.code != 409 or attempt == attempts - 1:
                    raise
                time.sleep(0.5)
        raise HarnessError("unreachable")

    def stop(self) -> None:
        for node in self.nodes:
            node.kill()


# -------------------------------------------------------------------------------------------- Redis


@dataclass
class RedisNode:
    name: str
    port: int
    directory: Path
    sentinel: bool = False
    process: Process | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


@dataclass
class RedisCluster:
    """A primary, replicas and Sentinels monitoring them (quorum 2 of 3)."""

    base_dir: Path
    replicas: int = 2
    sentinels: int = 3
    quorum: int = 2
    down_after_ms: int = 1000
    failover_timeout_ms: int = 5000
    master_group: str = REDIS_MASTER_GROUP
    nodes: list[RedisNode] = field(default_factory=list)
    sentinel_nodes: list[RedisNode] = field(default_factory=list)
    registry: Path | None = None

    @property
    def addresses(self) -> list[str]:
        return [n.address for n in self.nodes]

    @property
    def sentinel_addresses(self) -> list[str]:
        return [n.address for n in self.sentinel_nodes]

    def start(self, timeout: float = 60) -> None:
        ports = allocate_ports(1 + self.replicas + self.sentinels)
        for i in range(1 + self.replicas):
            node = RedisNode(f"redis{i}", ports[i], self.base_dir / f"redis{i}")
            node.directory.mkdir(parents=True)
            self.nodes.append(node)
        for i in range(self.sentinels):
            node = RedisNode(f"sentinel{i}", ports[1 + self.replicas + i], self.base_dir / f"sentinel{i}", sentinel=True)
            node.directory.mkdir(parents=True)
            self.sentinel_nodes.append(node)
        primary = self.nodes[0]
        for node in self.nodes:
            self.start_server(node, None if node is primary else primary.address)
        for node in self.sentinel_nodes:
            self._write_sentinel_config(node, primary)
            self.start_sentinel(node)
        self.wait_healthy(timeout)

    def start_server(self, node: RedisNode, replica_of: str | None) -> None:
        argv = [
            REDIS_SERVER_BIN,
            "--port", str(node.port),
            "--bind", "127.0.0.1",
            "--dir", str(node.directory),
            "--save", "",
            "--appendonly", "no",
            "--protected-mode", "no",
            "--maxmemory", "64mb",
            "--maxmemory-policy", "noeviction",
        ]  # fmt: skip
        if replica_of:
            host, port = replica_of.split(":")
            argv += ["--replicaof", host, port]
        node.process = Process(node.name, argv, node.directory / "redis.log", registry=self.registry)
        node.process.start()

    def _write_sentinel_config(self, node: RedisNode, primary: RedisNode) -> None:
        group = self.master_group
        (node.directory / "sentinel.conf").write_text(
            f"port {node.port}\n"
            "bind 127.0.0.1\n"
            "protected-mode no\n"
            f"dir {node.directory}\n"
            f"sentinel monitor {group} 127.0.0.1 {primary.port} {self.quorum}\n"
            f"sentinel down-after-milliseconds {group} {self.down_after_ms}\n"
            f"sentinel failover-timeout {group} {self.failover_timeout_ms}\n"
            f"sentinel parallel-syncs {group} 1\n"
        )

    def start_sentinel(self, node: RedisNode) -> None:
        node.process = Process(
            node.name,
            [REDIS_SENTINEL_BIN, str(node.directory / "sentinel.conf")],
            node.directory / "sentinel.log",
            registry=self.registry,
        )
        node.process.start()

    def _cli(self, address: str, *args: str) -> str:
        host, port = address.split(":")
        return subprocess.run(
            ["redis-cli", "-h", host, "-p", port, *args], capture_output=True, text=True, timeout=5, check=True
        ).stdout

    def current_primary(self) -> str | None:
        """The address most Sentinels name as the primary."""
        votes: dict[str, int] = {}
        for sentinel in self.sentinel_addresses:
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                lines = self._cli(sentinel, "SENTINEL", "get-master-addr-by-name", self.master_group).split()
                if len(lines) == 2:
                    votes[f"{lines[0]}:{lines[1]}"] = votes.get(f"{lines[0]}:{lines[1]}", 0) + 1
        return max(votes, key=votes.get) if votes else None

    def _healthy(self) -> bool:
        primary = self.current_primary()
        if primary is None:
            return False
        info = self._cli(primary, "INFO", "replication")
        if "role:master" not in info or f"connected_slaves:{self.replicas}" not in info:
            return False
        online = [line for line in info.splitlines() if line.startswith("slave") and "state=online" in line]
        if len(online) != self.replicas:
            return False
        for sentinel in self.sentinel_addresses:
            fields = self._cli(sentinel, "SENTINEL", "master", self.master_group).split()
            pairs = dict(zip(fields[::2], fields[1::2]))
            if f"{pairs.get('ip')}:{pairs.get('port')}" != primary:
                return False
            if int(pairs.get("num-other-sentinels", 0)) != self.sentinels - 1:
                return False
            if int(pairs.get("num-slaves", 0)) < self.replicas or "s_down" in pairs.get("flags", "") or "o_down" in pairs.get("flags", ""):
                return False
            replicas = self._cli(sentinel, "SENTINEL", "replicas", self.master_group)
            if replicas.count("s_down") or replicas.count("disconnected"):
                return False
        return True

    def wait_healthy(self, timeout: float = 60) -> None:
        logs = [n.directory / "redis.log" for n in self.nodes] + [n.directory / "sentinel.log" for n in self.sentinel_nodes]
        wait_until(self._healthy, timeout, "a Redis primary, online replicas and agreeing Sentinels", logs)

    def node_at(self, address: str) -> RedisNode:
        return next(n for n in self.nodes + self.sentinel_nodes if n.address == address)

    def ensure_healthy(self, timeout: float = 60) -> None:
        """Restart servers a test killed (as replicas of the current primary) and wait."""
        primary = self.current_primary()
        for node in self.nodes:
            if node.process is None or not node.process.alive():
                self.start_server(node, primary if primary != node.address else None)
        for node in self.sentinel_nodes:
            if node.process is None or not node.process.alive():
                self.start_sentinel(node)
        self.wait_healthy(timeout)

    def stop(self) -> None:
        for node in self.sentinel_nodes + self.nodes:
            if node.process is not None:
                node.process.kill()


# ------------------------------------------------------------------------------------------ reaper

REAPER_SCRIPT = r"""
import os, signal, sys, time, shutil, glob
from parity.procs import children_of, pid_alive
watched, base = int(sys.argv[1]), sys.argv[2]
while pid_alive(watched, if_unreadable=False):
    time.sleep(0.5)
try:
    pgids = [int(line) for line in open(os.path.join(base, "pgids")) if line.strip()]
except OSError:
    pgids = []
for pgid in pgids:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass
for pidfile in glob.glob(os.path.join(base, "**", "postmaster.pid"), recursive=True):
    try:
        pid = int(open(pidfile).readline())
    except (OSError, ValueError):
        continue
    for victim in [pid] + children_of(pid):
        try:
            os.kill(victim, signal.SIGKILL)
        except OSError:
            pass
time.sleep(1)
shutil.rmtree(base, ignore_errors=True)
"""


@dataclass
class Reaper:
    """A detached watchdog: when the test process dies without tearing down (SIGKILL, a crash),
    it kills every server started under `base_dir` and removes the directory. A normal teardown
    stops the servers itself and then stops the reaper."""

    base_dir: Path
    process: subprocess.Popen | None = None

    @property
    def registry(self) -> Path:
        return self.base_dir / "pgids"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", REAPER_SCRIPT, str(os.getpid()), str(self.base_dir)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def stop(self, remove: bool = True) -> None:
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            self.process.wait(timeout=10)
        if remove:
            shutil.rmtree(self.base_dir, ignore_errors=True)
