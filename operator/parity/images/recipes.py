"""What each local image holds: recipes as plain data, in one place.

There is no image registry and no Docker engine on a development machine without network
access to one, so the node runs images built here from Debian packages, PyPI packages and a
few binaries we build ourselves. Every image is `parity.local/<name>:<tag>`; `local_image_refs()` gives
the references and versions the local sample's manifests are to name.

Published images that satisfy the same contract (entrypoint, paths, user) are listed in
docs/images.md beside the reasons for each choice below.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

REGISTRY = "parity.local"
# Bump when the builder changes what it produces from the same recipe (layout, clean-up,
# tool flags): every cache key includes it, so all images are rebuilt once.
BUILDER_VERSION = "2"

BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# Debian suites. trixie is the default: its PostgreSQL (17), Prometheus and exporters are the
# closest to what production runs. Redis is the exception (see REDIS_SUITE).
DEFAULT_SUITE = "trixie"

# --- pinned facts the renderers need ------------------------------------------------------------

ETCD_VERSION = "3.5.17"
ETCD_BINARY = "/usr/local/bin/etcd"

POSTGRES_MAJOR = "17"  # the newest major a Debian package provides (trixie: postgresql-17)
POSTGRES_BIN_DIR = f"/usr/lib/postgresql/{POSTGRES_MAJOR}/bin"  # Patroni's postgresql.bin_dir
# Spilo's postgres user and group, created before postgresql is installed (so the package keeps
# them): the rendered pod runs as these ids whichever of the two images it names.
POSTGRES_UID = 101
POSTGRES_GID = 103
POSTGRES_HOME = "/home/postgres"  # the rendered data dir (/home/postgres/pgdata) lives below it
PATRONI_VERSION = "4.0.6"  # the 4.0 line, as in the Spilo 4.0 image production runs
PATRONI_VENV = "/opt/patroni"
PATRONI_PYTHON = f"{PATRONI_VENV}/bin/python"  # runs Patroni's callback scripts

# bookworm has Redis 7.0.15, trixie 8.0.2. Production runs 7.2: 7.0 is the same major and
# reads the same configuration and RDB/replication protocol a 7.2 primary speaks to a 7.0
# replica; 8.0 is a major ahead (new defaults, RDB 12). bookworm it is.
REDIS_SUITE = "bookworm"
REDIS_VERSION = "7.0"

NOBODY = 65534  # what prom/prometheus and the exporter images run as


@dataclass(frozen=True)
class Recipe:
    """One image. Everything here goes into the image's cache key."""

    name: str
    tag: str
    version: str  # the version of the main program, as a person would say it
    suite: str | None  # Debian suite of the base layer; None: no base (scratch image)
    packages: tuple[str, ...] = ()
    pip_packages: tuple[str, ...] = ()
    pip_venv: str | None = None
    # Host files copied in: image path -> logical input name (resolved by the builder to a
    # host path, whose digest is part of the cache key).
    files: Mapping[str, str] = field(default_factory=dict)
    # Shell run in the image root (chroot) after packages and before the venv, e.g. users.
    pre_install: str = ""
    post_install: str = ""
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    user: int = 0
    env: Mapping[str, str] = field(default_factory=dict)
    workdir: str = "/"
    # Commands that must resolve on the image's PATH (checked at build time): the rendered
    # pods and scripts call them.
    requires: tuple[str, ...] = ()
    # Proof the image works, run by the e2e test with `ctr run`: argv and a text the output holds.
    smoke: tuple[tuple[str, ...], ...] = ()
    smoke_expect: tuple[str, ...] = ()
    # Facts for whoever renders manifests against this image (bin dirs, paths, uids).
    notes: Mapping[str, str] = field(default_factory=dict)

    @property
    def reference(self) -> str:
        return f"{REGISTRY}/{self.name}:{self.tag}"

    def as_data(self) -> dict:
        """Plain, ordered data for hashing and for `parity images list --json`."""
        return {
            "name": self.name, "tag": self.tag, "version": self.version, "suite": self.suite,
            "packages": list(self.packages), "pip_packages": list(self.pip_packages), "pip_venv": self.pip_venv,
            "files": dict(sorted(self.files.items())), "pre_install": self.pre_install,
            "post_install": self.post_install, "entrypoint": list(self.entrypoint), "cmd": list(self.cmd),
            "user": self.user, "env": dict(sorted(self.env.items())), "workdir": self.workdir,
            "requires": list(self.requires), "notes": dict(sorted(self.notes.items())),
        }


def _path(*dirs: str) -> str:
    return ":".join([*dirs, BASE_PATH])


RECIPES: tuple[Recipe, ...] = (
    Recipe(
        # The pod sandbox. catatonit in pause mode (-P) sleeps until signalled and reaps
        # nothing: the same job as registry.k8s.io/pause. Static, so no base layer at all.
        name="pause", tag="3.10", version="catatonit", suite=None,
        files={"/catatonit": "catatonit"},
        entrypoint=("/catatonit", "-P"), user=NOBODY,
        notes={"sandbox_image": f"{REGISTRY}/pause:3.10"},
    ),
    Recipe(
        # local-path-provisioner's helper pod (controlplane/storage.py): makes and removes each
        # volume's directory on the node, as busybox does in the upstream manifest.
        name="volume-helper", tag="1", version="1", suite=DEFAULT_SUITE,
        entrypoint=("/bin/sh",), env={"PATH": BASE_PATH},
        requires=("sh", "mkdir", "rm"),
        smoke=(("/bin/sh", "-c", "mkdir -m 0777 -p /tmp/v && echo made"),), smoke_expect=("made",),
    ),
    Recipe(
        # The static etcd built by `tools/controlplane/build.sh etcd-image`, at the path the
        # rendered StatefulSet runs. Root by default, as quay.io/coreos/etcd; the rendered pod runs it as 10001.
        name="etcd", tag=ETCD_VERSION, version=ETCD_VERSION, suite=DEFAULT_SUITE,
        files={ETCD_BINARY: "etcd"},
        entrypoint=(ETCD_BINARY,), env={"PATH": BASE_PATH},
        requires=("etcd", "sh"),
        smoke=((ETCD_BINARY, "--version"),), smoke_expect=(f"etcd Version: {ETCD_VERSION}",),
        notes={"binary": ETCD_BINARY, "data_dir": "/var/lib/etcd", "uid": "0"},
    ),
    Recipe(
        name="postgres-patroni", tag=POSTGRES_MAJOR, version=POSTGRES_MAJOR, suite=DEFAULT_SUITE,
        # postgresql-17, not the `postgresql` metapackage: exactly one major. python3-venv for
        # Patroni's venv; the venv's python also runs Patroni's callback scripts.
        packages=(f"postgresql-{POSTGRES_MAJOR}", "python3", "python3-venv", "ca-certificates", "locales"),
        pip_packages=(f"patroni[etcd3]=={PATRONI_VERSION}", "psycopg[binary]==3.2.10"),
        pip_venv=PATRONI_VENV,
        pre_install=(
            # Fixed ids before postgresql-common's postinst would pick the next free ones;
            # no main cluster: Patroni runs initdb itself.
            f"groupadd --system --gid {POSTGRES_GID} postgres\n"
            f"useradd --system --uid {POSTGRES_UID} --gid {POSTGRES_GID} --home-dir {POSTGRES_HOME} "
            "--create-home --shell /bin/bash postgres\n"
            "mkdir -p /etc/postgresql-common\n"
            "echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.conf\n"
        ),
        post_install=(
            # Spilo initialises clusters in en_US.UTF-8; only that locale is generated (locales-all
            # would add ~200 MB).
            "echo 'en_US.UTF-8 UTF-8' > /etc/locale.gen\nlocale-gen\n"
            f"ln -sf {PATRONI_VENV}/bin/patroni {PATRONI_VENV}/bin/patronictl /usr/local/bin/\n"
            "mkdir -p /var/run/postgresql\n"
            f"chown {POSTGRES_UID}:{POSTGRES_GID} /var/run/postgresql {POSTGRES_HOME}\n"
            "chmod 2775 /var/run/postgresql\n"
        ),
        entrypoint=("patroni",), cmd=(),
        user=POSTGRES_UID, workdir=POSTGRES_HOME,
        env={"PATH": _path(f"{PATRONI_VENV}/bin", POSTGRES_BIN_DIR), "HOME": POSTGRES_HOME,
             "LANG": "en_US.UTF-8", "PGHOME": POSTGRES_HOME},
        requires=("postgres", "pg_ctl", "initdb", "psql", "pg_basebackup", "pg_rewind", "patroni", "patronictl",
                  "python3", "sh"),
        smoke=(("postgres", "--version"), ("patroni", "--version"), ("psql", "--version")),
        smoke_expect=(f"postgres (PostgreSQL) {POSTGRES_MAJOR}.", f"patroni {PATRONI_VERSION}", "psql (PostgreSQL)"),
        notes={"bin_dir": POSTGRES_BIN_DIR, "uid": str(POSTGRES_UID), "gid": str(POSTGRES_GID),
               "home": POSTGRES_HOME, "patroni_venv": PATRONI_VENV, "python": PATRONI_PYTHON,
               "patroni": f"{PATRONI_VENV}/bin/patroni", "socket_dir": "/var/run/postgresql"},
    ),
    Recipe(
        # Root, as the published redis image behaves when a pod overrides its command (its
        # entrypoint's drop to the redis user is skipped), so the scripts can write the volume.
        name="redis", tag=REDIS_VERSION, version=REDIS_VERSION, suite=REDIS_SUITE,
        packages=("redis-server", "redis-sentinel", "redis-tools"),
        # Debian's configs daemonize and log to files; the rendered pods pass their own config.
        entrypoint=("redis-server",), env={"PATH": BASE_PATH}, workdir="/data",
        post_install="mkdir -p /data\n",
        # What start-redis.sh / start-sentinel.sh and the readiness probe call.
        requires=("sh", "redis-server", "redis-sentinel", "redis-cli", "hostname", "timeout", "head", "printf",
                  "cat", "cp", "mkdir", "sleep", "grep", "awk"),
        smoke=(("redis-server", "--version"), ("redis-sentinel", "--version"), ("redis-cli", "--version")),
        smoke_expect=(f"Redis server v={REDIS_VERSION}.", f"v={REDIS_VERSION}.", f"redis-cli {REDIS_VERSION}."),
        notes={"uid": "0", "data_dir": "/data"},
    ),
    Recipe(
        # prom/prometheus runs /bin/prometheus as nobody with these default arguments; the
        # rendered pod passes its own args (config file, TSDB path).
        name="prometheus", tag="2.53", version="2.53", suite=DEFAULT_SUITE,
        packages=("prometheus",),
        post_install=f"mkdir -p /prometheus /etc/prometheus\nchown {NOBODY}:{NOBODY} /prometheus\n",
        entrypoint=("/usr/bin/prometheus",),
        cmd=("--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"),
        user=NOBODY, workdir="/prometheus", env={"PATH": BASE_PATH},
        requires=("prometheus",),
        smoke=(("/usr/bin/prometheus", "--version"),), smoke_expect=("prometheus, version 2.53",),
        notes={"binary": "/usr/bin/prometheus", "uid": str(NOBODY), "data_dir": "/prometheus", "port": "9090"},
    ),
    Recipe(
        # Reads DATA_SOURCE_URI / DATA_SOURCE_USER / DATA_SOURCE_PASS like the published image;
        # listens on :9187.
        name="postgres-exporter", tag="0.17", version="0.17", suite=DEFAULT_SUITE,
        packages=("prometheus-postgres-exporter",),
        entrypoint=("/usr/bin/prometheus-postgres-exporter",), user=NOBODY, env={"PATH": BASE_PATH},
        requires=("prometheus-postgres-exporter",),
        smoke=(("/usr/bin/prometheus-postgres-exporter", "--version"),), smoke_expect=("version 0.17",),
        notes={"binary": "/usr/bin/prometheus-postgres-exporter", "uid": str(NOBODY), "port": "9187"},
    ),
    Recipe(
        # Reads REDIS_ADDR like oliver006/redis_exporter; listens on :9121.
        name="redis-exporter", tag="1.69", version="1.69", suite=DEFAULT_SUITE,
        packages=("prometheus-redis-exporter",),
        entrypoint=("/usr/bin/prometheus-redis-exporter",), user=NOBODY, env={"PATH": BASE_PATH},
        requires=("prometheus-redis-exporter",),
        smoke=(("/usr/bin/prometheus-redis-exporter", "--version"),), smoke_expect=("1.69",),
        notes={"binary": "/usr/bin/prometheus-redis-exporter", "uid": str(NOBODY), "port": "9121"},
    ),
)

# Parts of the environment no Debian or PyPI package provides: the local sample must leave
# them disabled (or point their `image` at something the node already has).
UNAVAILABLE: dict[str, str] = {
    "grafana": "not packaged by Debian (bookworm or trixie) nor on PyPI; Grafana's own apt repository is not reachable here",
    "jaeger": "not packaged by Debian nor on PyPI (jaeger-all-in-one is a Go binary distributed only as a release or image)",
    "otel-collector": "the OpenTelemetry Collector (contrib) is not packaged by Debian nor on PyPI",
}


def recipe(name: str) -> Recipe:
    for r in RECIPES:
        if r.name == name:
            return r
    raise KeyError(f"no image recipe named {name!r}; known: {', '.join(r.name for r in RECIPES)}")


def select(names: list[str] | tuple[str, ...] | None) -> list[Recipe]:
    """The recipes named (in recipe order), all when `names` is empty; unknown names raise KeyError."""
    if not names:
        return list(RECIPES)
    wanted = set(names)
    unknown = wanted - {r.name for r in RECIPES}
    if unknown:
        raise KeyError(f"no image recipe named {', '.join(sorted(unknown))}; known: {', '.join(r.name for r in RECIPES)}")
    return [r for r in RECIPES if r.name in wanted]


def local_image_refs() -> dict[str, tuple[str, str]]:
    """Image name -> (reference, version) for the local sample overlay."""
    return {r.name: (r.reference, r.version) for r in RECIPES}
