"""Build the local images: one debootstrap base layer per suite, one layer per image on top.

Tools, not hand-written packers: debootstrap makes the base root filesystem, `chroot apt-get`
and pip install into it, umoci turns root filesystems into OCI layers (unpack + repack, so a
layer holds exactly what changed) and sets the image config, skopeo writes the OCI archive
that `ctr images import` reads. Needs root (chroot, mount, file ownership).

Layout of the cache (`$PARITY_CACHE/images`, default ~/.cache/parity/images):
  base/<suite>-<key>/oci        OCI layout with the suite's base image (tag `base`)
  archives/<name>-<key>.tar     the image as an OCI archive, ref name = its reference
  archives/<name>-<key>.json    what was built: reference, digest, size, versions, seconds
  logs/<name>.log               every tool's output of the last build of that image
  work/                         scratch, removed after each build
"""

from __future__ import annotations

import configparser
import contextlib
import fcntl
import glob
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from parity.images import plan
from parity.images.recipes import ETCD_VERSION, Recipe

LOG_TAIL_LINES = 40


class BuildError(RuntimeError):
    """A build step failed; the message names the step and carries the log's tail."""


def parity_cache() -> Path:
    return Path(os.environ.get("PARITY_CACHE") or Path.home() / ".cache" / "parity")


def images_cache() -> Path:
    return parity_cache() / "images"


# --- inputs: host files copied into images ------------------------------------------------------

def default_input_paths(cache: Path | None = None) -> dict[str, Path | None]:
    """Where each logical input lives on this host (None: not there)."""
    cache = cache or parity_cache()
    # build.sh names the directory after the Go module version (v3.5.17).
    etcd = [p for v in (f"v{ETCD_VERSION}", ETCD_VERSION) for p in glob.glob(str(cache / "etcd-image" / v / "bin" / "etcd"))]
    catatonit = shutil.which("catatonit") or "/usr/bin/catatonit"
    return {
        "catatonit": Path(catatonit) if Path(catatonit).is_file() else None,
        "etcd": Path(etcd[0]) if etcd else None,
    }


INPUT_HINTS = {
    "catatonit": "install Debian's catatonit package (apt-get install catatonit)",
    "etcd": f"build it: bash tools/controlplane/build.sh etcd-image (etcd {ETCD_VERSION}, static)",
}


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# --- the host's Debian mirror -------------------------------------------------------------------

def host_debian_mirrors(etc_apt: Path = Path("/etc/apt")) -> tuple[str, str | None]:
    """The Debian mirror and security mirror this host's apt uses, read at run time (never
    written into the repository)."""
    files: dict[str, str] = {}
    if (etc_apt / "sources.list").is_file():
        files["sources.list"] = (etc_apt / "sources.list").read_text()
    for path in sorted((etc_apt / "sources.list.d").glob("*")):
        if path.suffix in (".sources", ".list"):
            files[path.name] = path.read_text()
    mirrors = plan.parse_apt_mirrors(files)
    mirror = plan.debian_mirror(mirrors)
    if not mirror:
        raise BuildError(f"no Debian mirror in {etc_apt}/sources.list or {etc_apt}/sources.list.d/*: "
                         "debootstrap needs one")
    return mirror, plan.security_mirror(mirrors)


# --- running tools --------------------------------------------------------------------------------

class Runner:
    """Runs tools with their output appended to one log file."""

    def __init__(self, log_path: Path):
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.write_text("")

    def log(self, text: str) -> None:
        with open(self.log_path, "a") as f:
            f.write(text.rstrip("\n") + "\n")

    def run(self, argv: list[str], *, env: dict[str, str] | None = None, capture: bool = False) -> str:
        self.log(f"$ {shlex.join(argv)}")
        with open(self.log_path, "a") as log:
            proc = subprocess.run(argv, stdout=subprocess.PIPE if capture else log, stderr=log, text=True,
                                  env=env, stdin=subprocess.DEVNULL)
        if capture and proc.stdout:
            self.log(proc.stdout)
        if proc.returncode != 0:
            raise BuildError(f"{shlex.join(argv[:4])}{' ...' if len(argv) > 4 else ''} exited {proc.returncode}\n"
                             f"--- last lines of {self.log_path} ---\n{self.tail()}")
        return proc.stdout or ""

    def tail(self, lines: int = LOG_TAIL_LINES) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


CHROOT_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "DEBIAN_FRONTEND": "noninteractive",
    "LC_ALL": "C.UTF-8",
    "HOME": "/root",
}


def _is_mounted(path: Path) -> bool:
    target = str(path.resolve())
    with open("/proc/self/mounts") as f:
        return any(line.split()[1] == target for line in f)


def _mounts_below(path: Path) -> list[str]:
    prefix = str(path.resolve()) + "/"
    with open("/proc/self/mounts") as f:
        return [line.split()[1] for line in f if line.split()[1].startswith(prefix)]


def remove_tree(path: Path) -> None:
    """rm -rf for build directories, which must never reach through a mount into the host.

    A root filesystem whose /dev bind mount survived a failed step would otherwise lose the
    host's device nodes. Leftover mounts are detached first; if that fails, nothing is removed.
    """
    if not path.exists():
        return
    for target in sorted(_mounts_below(path), key=len, reverse=True):
        subprocess.run(["umount", "-l", target], capture_output=True)
    left = _mounts_below(path)
    if left:
        raise BuildError(f"refusing to remove {path}: still mounted below it: {', '.join(left)}")
    shutil.rmtree(path)


@contextlib.contextmanager
def chroot_mounts(rootfs: Path, runner: Runner) -> Iterator[None]:
    """/proc and /dev inside the root for package scripts; always unmounted again."""
    mounted: list[Path] = []
    try:
        for source, target, args in (("proc", rootfs / "proc", ["-t", "proc"]), ("/dev", rootfs / "dev", ["--bind"])):
            target.mkdir(parents=True, exist_ok=True)
            runner.run(["mount", *args, source, str(target)])
            mounted.append(target)
        yield
    finally:
        for target in reversed(mounted):
            try:
                runner.run(["umount", str(target)])
            except BuildError:
                runner.run(["umount", "-l", str(target)])
        leftovers = [str(t) for t in mounted if _is_mounted(t)]
        if leftovers:
            raise BuildError(f"still mounted after the build: {', '.join(leftovers)}")


@contextlib.contextmanager
def planted(rootfs: Path, files: dict[str, tuple[bytes, int]]) -> Iterator[None]:
    """Files present in the root only for a step: put in, then removed and whatever they hid restored."""
    done: list[tuple[Path, bytes | None]] = []
    try:
        for path_in_root, (content, mode) in files.items():
            target = rootfs / path_in_root.lstrip("/")
            hidden = target.read_bytes() if target.is_file() and not target.is_symlink() else None
            if target.exists() or target.is_symlink():
                target.unlink()
            target.parent.mkdir(parents=True, exist_ok=True)
            done.append((target, hidden))
            target.write_bytes(content)
            target.chmod(mode)
        yield
    finally:
        for target, hidden in reversed(done):
            with contextlib.suppress(FileNotFoundError):
                target.unlink()
            if hidden is not None:
                target.write_bytes(hidden)


def build_only_files() -> dict[str, tuple[bytes, int]]:
    """DNS for apt and pip; no service may start inside the build root."""
    return {"/etc/resolv.conf": (Path("/etc/resolv.conf").read_bytes(), 0o644),
            "/usr/sbin/policy-rc.d": (b"#!/bin/sh\nexit 101\n", 0o755)}


def host_pip_files(pip_conf: Path = Path("/etc/pip.conf")) -> dict[str, tuple[bytes, int]]:
    """The host's pip configuration and the certificate files it names, for the pip step only.

    The certificate bundle may hold a CA the host trusts and the image's own bundle does not
    (e.g. an inspecting proxy), so the host's file stands in for the image's while pip runs.
    """
    if not pip_conf.is_file():
        return {}
    files = {"/etc/pip.conf": (pip_conf.read_bytes(), 0o644)}
    parser = configparser.ConfigParser()
    parser.read_string(pip_conf.read_text())
    for section in parser.sections():
        for key in ("cert", "client-cert"):
            value = parser.get(section, key, fallback="")
            if value and Path(value).is_file():
                files[value] = (Path(value).read_bytes(), 0o644)
    return files


def chroot(runner: Runner, rootfs: Path, script: str, *, path: str | None = None, capture: bool = False) -> str:
    env = dict(CHROOT_ENV)
    if path:
        env["PATH"] = path
    return runner.run(["chroot", str(rootfs), "/bin/sh", "-euc", script], env=env, capture=capture)


# As Debian's own -slim images do: documentation, manuals and translations are never unpacked
# (copyright files stay). Written into each image layer, so later installs follow it too.
SLIM_DPKG_CONFIG = """\
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/lintian/*
"""

CLEAN_SCRIPT = """
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/debconf/*-old /var/lib/dpkg/*-old \
       /var/log/apt /var/log/dpkg.log /var/log/alternatives.log /var/log/bootstrap.log /tmp/* /root/.cache
"""


# --- base layers ----------------------------------------------------------------------------------

def base_dir(cache: Path, suite: str) -> Path:
    return cache / "base" / f"{suite}-{plan.short(plan.base_key(suite))}"


def ensure_base(cache: Path, suite: str, mirrors: tuple[str, str | None], runner: Runner) -> Path:
    """The suite's base OCI layout (tag `base`), made once by debootstrap and reused by every image."""
    final = base_dir(cache, suite)
    if (final / "oci" / "index.json").is_file():
        return final / "oci"
    work = cache / "work" / f"base-{suite}"
    remove_tree(work)
    work.mkdir(parents=True)
    layout, bundle = work / "oci", work / "bundle"
    runner.run(["umoci", "init", "--layout", str(layout)])
    runner.run(["umoci", "new", "--image", f"{layout}:base"])
    runner.run(["umoci", "unpack", "--image", f"{layout}:base", str(bundle)])
    rootfs = bundle / "rootfs"
    mirror, security = mirrors
    runner.run(["debootstrap", f"--variant={plan.BASE_VARIANT}", suite, str(rootfs), mirror])
    # debootstrap knows only the release; updates and security fixes come on top, in the base.
    (rootfs / "etc/apt/sources.list").write_text(plan.apt_sources(suite, mirror, security))
    for duplicate in (rootfs / "etc/apt/sources.list.d").glob("*.sources"):
        duplicate.unlink()
    with chroot_mounts(rootfs, runner), planted(rootfs, build_only_files()):
        chroot(runner, rootfs, "apt-get update -q\napt-get upgrade -y -q -o Dpkg::Options::=--force-confold")
        chroot(runner, rootfs, CLEAN_SCRIPT)
    runner.run(["umoci", "repack", "--image", f"{layout}:base", str(bundle)])
    runner.run(["umoci", "gc", "--layout", str(layout)])
    final.mkdir(parents=True, exist_ok=True)
    remove_tree(final / "oci")
    layout.rename(final / "oci")
    remove_tree(work)
    return final / "oci"


# --- images ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BuiltImage:
    name: str
    reference: str
    version: str
    key: str
    archive: Path
    digest: str
    size: int
    seconds: float
    packages: dict[str, str]

    def as_data(self) -> dict:
        return {"name": self.name, "reference": self.reference, "version": self.version, "key": self.key,
                "archive": str(self.archive), "digest": self.digest, "size": self.size,
                "seconds": round(self.seconds, 1), "packages": self.packages}


def archive_path(cache: Path, name: str, key: str) -> Path:
    return cache / "archives" / f"{name}-{plan.short(key)}.tar"


def stale_archives(archives: Path, name: str, key: str) -> list[Path]:
    """This image's archives at other keys. Exactly `<name>-<short key>.tar|.json`: a prefix
    match would take another image's ("redis-*" matched redis-exporter's archives)."""
    pattern = re.compile(rf"{re.escape(name)}-([0-9a-f]{{{len(plan.short(key))}}})\.(tar|json)")
    return sorted(p for p in archives.glob(f"{name}-*")
                  if (m := pattern.fullmatch(p.name)) and m.group(1) != plan.short(key))


def load_built(cache: Path, name: str, key: str) -> BuiltImage | None:
    meta = archive_path(cache, name, key).with_suffix(".json")
    if not meta.is_file() or not archive_path(cache, name, key).is_file():
        return None
    data = json.loads(meta.read_text())
    if data.get("key") != key:
        return None
    return BuiltImage(name=data["name"], reference=data["reference"], version=data["version"], key=key,
                      archive=Path(data["archive"]), digest=data["digest"], size=data["size"],
                      seconds=data["seconds"], packages=data.get("packages", {}))


def _config_args(recipe: Recipe, key: str) -> list[str]:
    args = ["--clear=config.entrypoint", "--clear=config.cmd", "--clear=config.env",
            f"--config.user={recipe.user}", f"--config.workingdir={recipe.workdir}",
            f"--config.label=dev.parity.image.key={key}",
            f"--config.label=org.opencontainers.image.version={recipe.version}",
            f"--history.comment=parity images build {recipe.name}"]
    args += [f"--config.entrypoint={a}" for a in recipe.entrypoint]
    args += [f"--config.cmd={a}" for a in recipe.cmd]
    args += [f"--config.env={k}={v}" for k, v in sorted(recipe.env.items())]
    return args


def _install(recipe: Recipe, rootfs: Path, runner: Runner) -> dict[str, str]:
    """Everything that runs inside the image root; returns the installed packages' versions."""
    versions: dict[str, str] = {}
    slim = rootfs / "etc/dpkg/dpkg.cfg.d/parity-slim"
    slim.parent.mkdir(parents=True, exist_ok=True)
    slim.write_text(SLIM_DPKG_CONFIG)
    with chroot_mounts(rootfs, runner), planted(rootfs, build_only_files()):
        if recipe.pre_install:
            chroot(runner, rootfs, recipe.pre_install)
        if recipe.packages:
            pkgs = " ".join(shlex.quote(p) for p in recipe.packages)
            chroot(runner, rootfs, "apt-get update -q\n"
                   "apt-get install -y -q --no-install-recommends -o Dpkg::Options::=--force-confold " + pkgs)
            out = chroot(runner, rootfs, f"dpkg-query -W -f='${{Package}} ${{Version}}\\n' {pkgs}", capture=True)
            versions.update(line.split(" ", 1) for line in out.splitlines() if " " in line)
        if recipe.pip_packages:
            venv = shlex.quote(recipe.pip_venv or "/opt/venv")
            reqs = " ".join(shlex.quote(p) for p in recipe.pip_packages)
            with planted(rootfs, host_pip_files()):
                chroot(runner, rootfs, f"python3 -m venv {venv}\n"
                       f"{venv}/bin/pip install -q --no-cache-dir --disable-pip-version-check {reqs}")
            out = chroot(runner, rootfs, f"{venv}/bin/pip list --format=freeze --disable-pip-version-check",
                         capture=True)
            wanted = {p.split("[")[0].split("=")[0].lower() for p in recipe.pip_packages}
            for line in out.splitlines():
                pkg, _, version = line.partition("==")
                if pkg.lower() in wanted:
                    versions[f"pypi:{pkg}"] = version
        if recipe.post_install:
            chroot(runner, rootfs, recipe.post_install)
        if recipe.requires:
            checks = "\n".join(f"command -v {shlex.quote(c)} >/dev/null || {{ echo 'missing on PATH: {c}' >&2; exit 1; }}"
                               for c in recipe.requires)
            chroot(runner, rootfs, checks, path=recipe.env.get("PATH"))
        chroot(runner, rootfs, CLEAN_SCRIPT)
    return versions


def build_image(recipe: Recipe, key: str, *, cache: Path, base_layout: Path | None,
                inputs: dict[str, Path], runner: Runner) -> BuiltImage:
    started = time.monotonic()
    work = cache / "work" / recipe.name
    remove_tree(work)
    work.mkdir(parents=True)
    layout, bundle = work / "oci", work / "bundle"
    try:
        if base_layout is not None:
            # Hard links: umoci only adds blobs, so the base's blobs are shared, never changed.
            runner.run(["cp", "-al", str(base_layout), str(layout)])
        else:
            runner.run(["umoci", "init", "--layout", str(layout)])
            runner.run(["umoci", "new", "--image", f"{layout}:base"])
        runner.run(["umoci", "unpack", "--image", f"{layout}:base", str(bundle)])
        rootfs = bundle / "rootfs"
        for image_path, input_name in sorted(recipe.files.items()):
            target = rootfs / image_path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(inputs[input_name], target)
            target.chmod(0o755)
        versions = _install(recipe, rootfs, runner) if recipe.suite else {}
        runner.run(["umoci", "repack", "--image", f"{layout}:base", str(bundle)])
        runner.run(["umoci", "config", "--image", f"{layout}:base", f"--tag={recipe.tag}", *_config_args(recipe, key)])
        runner.run(["umoci", "rm", "--image", f"{layout}:base"])
        runner.run(["umoci", "gc", "--layout", str(layout)])
        archive = archive_path(cache, recipe.name, key)
        archive.parent.mkdir(parents=True, exist_ok=True)
        partial = archive.with_suffix(".tar.partial")
        partial.unlink(missing_ok=True)
        runner.run(["skopeo", "copy", "--quiet", f"oci:{layout}:{recipe.tag}",
                    f"oci-archive:{partial}:{recipe.reference}"])
        inspected = json.loads(runner.run(["skopeo", "inspect", f"oci-archive:{partial}"], capture=True))
        partial.rename(archive)
        built = BuiltImage(name=recipe.name, reference=recipe.reference, version=recipe.version, key=key,
                           archive=archive, digest=inspected["Digest"], size=archive.stat().st_size,
                           seconds=time.monotonic() - started, packages=versions)
        archive.with_suffix(".json").write_text(json.dumps(built.as_data(), indent=2) + "\n")
        # Older archives of this image can never be used again (their key is gone): drop them.
        for stale in stale_archives(archive.parent, recipe.name, key):
            stale.unlink()
        return built
    finally:
        remove_tree(work)


# --- the whole run --------------------------------------------------------------------------------

def resolve_inputs(recipes: list[Recipe], paths: dict[str, Path | None]) -> tuple[dict[str, Path], dict[str, str]]:
    """Host paths and digests of the inputs the recipes copy in; BuildError names what is missing."""
    needed = sorted({i for r in recipes for i in r.files.values()})
    missing = [n for n in needed if paths.get(n) is None]
    if missing:
        raise BuildError("missing input(s): " + "; ".join(f"{n}: {INPUT_HINTS.get(n, 'not found')}" for n in missing))
    resolved = {n: paths[n] for n in needed}  # type: ignore[misc]
    return resolved, {n: file_sha256(p) for n, p in resolved.items()}


def image_keys(recipes: list[Recipe], digests: dict[str, str]) -> dict[str, str]:
    return {r.name: plan.image_key(r, input_digests=digests, base=plan.base_key(r.suite) if r.suite else None)
            for r in recipes}


@contextlib.contextmanager
def exclusive(cache: Path, progress: Callable[[str], None]) -> Iterator[None]:
    """One build at a time per cache: builds share the base layouts and the work directory."""
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / "build.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            progress(f"waiting for another `parity images build` using {cache} ...")
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def build_all(recipes: list[Recipe], *, cache: Path | None = None, input_paths: dict[str, Path | None] | None = None,
              rebuild: tuple[str, ...] = (), progress: Callable[[str], None] = print) -> list[BuiltImage]:
    cache = cache or images_cache()
    with exclusive(cache, progress):
        return _build_all(recipes, cache, input_paths, rebuild, progress)


def _build_all(recipes: list[Recipe], cache: Path, input_paths: dict[str, Path | None] | None,
               rebuild: tuple[str, ...], progress: Callable[[str], None]) -> list[BuiltImage]:
    inputs, digests = resolve_inputs(recipes, input_paths if input_paths is not None else default_input_paths())
    keys = image_keys(recipes, digests)
    steps = plan.plan_builds(keys, [k for n, k in keys.items() if load_built(cache, n, k)], rebuild=rebuild)
    by_name = {r.name: r for r in recipes}
    total = len(steps)
    built: list[BuiltImage] = []
    mirrors: tuple[str, str | None] | None = None
    for index, step in enumerate(steps, 1):
        recipe = by_name[step.name]
        prefix = f"[{index}/{total}] {recipe.name}"
        image = load_built(cache, step.name, step.key) if step.action == "cached" else None
        if image is not None:
            progress(f"{prefix} cached ({plan.short(step.key)}, {image.size / 1e6:.0f} MB)")
            built.append(image)
            continue
        # (A cached archive that vanished since the plan, by hand or by another build, is built.)
        runner = Runner(cache / "logs" / f"{recipe.name}.log")
        started = time.monotonic()
        base_layout = None
        if recipe.suite:
            if not (base_dir(cache, recipe.suite) / "oci" / "index.json").is_file():
                progress(f"{prefix} debootstrap {recipe.suite} base (once) ... log {runner.log_path}")
                mirrors = mirrors or host_debian_mirrors()
            base_layout = ensure_base(cache, recipe.suite, mirrors or ("", None), runner)
        progress(f"{prefix} building ({step.reason}) ... log {runner.log_path}")
        image = build_image(recipe, step.key, cache=cache, base_layout=base_layout, inputs=inputs, runner=runner)
        progress(f"{prefix} built in {time.monotonic() - started:.0f}s ({plan.short(step.key)}, "
                 f"{image.size / 1e6:.0f} MB, {image.digest[:19]})")
        built.append(image)
    return built


@dataclass(frozen=True)
class CacheEntry:
    recipe: Recipe
    key: str | None  # None while an input is missing (its digest is part of the key)
    missing: tuple[str, ...]
    built: BuiltImage | None


def lookup(recipes: list[Recipe], *, cache: Path | None = None,
           input_paths: dict[str, Path | None] | None = None) -> list[CacheEntry]:
    """Each recipe's current key and its cached archive, if any, without building anything."""
    cache = cache or images_cache()
    paths = input_paths if input_paths is not None else default_input_paths()
    entries = []
    for r in recipes:
        missing = tuple(sorted({n for n in r.files.values() if paths.get(n) is None}))
        key = built = None
        if not missing:
            digests = {n: file_sha256(paths[n]) for n in r.files.values()}  # type: ignore[arg-type]
            key = plan.image_key(r, input_digests=digests, base=plan.base_key(r.suite) if r.suite else None)
            built = load_built(cache, r.name, key)
        entries.append(CacheEntry(r, key, missing, built))
    return entries


def cached_images(recipes: list[Recipe], *, cache: Path | None = None,
                  input_paths: dict[str, Path | None] | None = None) -> list[BuiltImage]:
    """The built archives of these recipes at their current keys (what `import_images` takes).

    BuildError names every image that has no archive at its current key.
    """
    entries = lookup(recipes, cache=cache, input_paths=input_paths)
    not_built = [e.recipe.name for e in entries if e.built is None]
    if not_built:
        raise BuildError(f"not built (at the current recipe and inputs): {', '.join(not_built)}; "
                         "run `parity images build` first")
    return [e.built for e in entries if e.built is not None]


def status(recipes: list[Recipe], *, cache: Path | None = None,
           input_paths: dict[str, Path | None] | None = None) -> list[dict]:
    """One row per recipe for `parity images list`."""
    rows = []
    for e in lookup(recipes, cache=cache, input_paths=input_paths):
        r, built = e.recipe, e.built
        rows.append({"name": r.name, "reference": r.reference, "version": r.version, "suite": r.suite or "-",
                     "key": plan.short(e.key) if e.key else f"(needs {', '.join(e.missing)})",
                     "size": built.size if built else None, "built": built is not None,
                     "digest": built.digest if built else None, "archive": str(built.archive) if built else None,
                     "notes": dict(r.notes)})
    return rows
