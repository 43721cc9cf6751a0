"""Pure parts of `parity images`: recipes, cache keys, what to rebuild, what to import."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

from parity.images import plan, recipes
from parity.images.recipes import RECIPES, UNAVAILABLE, local_image_refs
from parity.render import postgres

DIGESTS = {"catatonit": "a" * 64, "etcd": "b" * 64}


def _keys(**overrides):
    return {r.name: plan.image_key(r, input_digests={**DIGESTS, **overrides},
                                   base=plan.base_key(r.suite) if r.suite else None) for r in RECIPES}


# --- recipes ---------------------------------------------------------------------------------

def test_every_image_has_a_parity_local_reference_and_a_numeric_user():
    names = [r.name for r in RECIPES]
    assert names == ["pause", "volume-helper", "etcd", "postgres-patroni", "redis", "prometheus", "postgres-exporter", "redis-exporter"]
    for r in RECIPES:
        assert re.fullmatch(rf"parity\.local/{re.escape(r.name)}:[0-9A-Za-z.]+", r.reference)
        assert isinstance(r.user, int) and r.entrypoint


def test_local_image_refs_for_the_local_sample():
    refs = local_image_refs()
    assert refs["etcd"] == ("parity.local/etcd:3.5.17", "3.5.17")
    assert refs["postgres-patroni"] == ("parity.local/postgres-patroni:17", "17")
    assert refs["redis"] == ("parity.local/redis:7.0", "7.0")
    assert refs["pause"][0] == "parity.local/pause:3.10"
    assert set(refs).isdisjoint(UNAVAILABLE)


def test_unavailable_parts_are_the_ones_without_packages():
    assert set(UNAVAILABLE) == {"grafana", "jaeger", "otel-collector"}
    assert all(reason for reason in UNAVAILABLE.values())


def test_pause_is_catatonit_in_pause_mode_without_a_base():
    pause = recipes.recipe("pause")
    assert pause.suite is None and pause.files == {"/catatonit": "catatonit"}
    assert pause.entrypoint == ("/catatonit", "-P")


def test_etcd_binary_is_where_the_rendered_statefulset_runs_it():
    from parity.api.models import EtcdSpec
    from parity.render import etcd as render_etcd
    from parity.render.common import Owner

    owner = Owner(env_name="e", namespace="ns", uid="u")
    sts = render_etcd.build_etcd_statefulset(owner, EtcdSpec())
    assert sts["spec"]["template"]["spec"]["containers"][0]["command"] == [recipes.ETCD_BINARY]
    assert recipes.recipe("etcd").files == {recipes.ETCD_BINARY: "etcd"}


def test_postgres_image_runs_as_its_fixed_uid_with_postgres_and_patroni_on_path():
    pg = recipes.recipe("postgres-patroni")
    # Spilo's ids, which the rendered pod runs as (render/postgres.py) whichever image it names.
    assert pg.user == recipes.POSTGRES_UID == postgres.POSTGRES_UID == 101
    assert recipes.POSTGRES_GID == postgres.POSTGRES_GID == 103
    assert f"--uid {recipes.POSTGRES_UID}" in pg.pre_install and f"--gid {recipes.POSTGRES_GID}" in pg.pre_install
    path = pg.env["PATH"].split(":")
    assert path.index(recipes.POSTGRES_BIN_DIR) < path.index("/usr/bin")  # psql: the real binary, not pg_wrapper
    assert f"{recipes.PATRONI_VENV}/bin" in path
    assert pg.notes["bin_dir"] == "/usr/lib/postgresql/17/bin"
    assert {"psql", "patroni", "patronictl", "python3"} <= set(pg.requires)
    assert "postgresql-17" in pg.packages


def test_redis_image_has_what_the_rendered_scripts_call():
    redis = recipes.recipe("redis")
    assert redis.suite == "bookworm"
    # start-redis.sh / start-sentinel.sh: sh, hostname, timeout, redis-cli, head, printf, cat, sleep
    for command in ("sh", "hostname", "timeout", "redis-cli", "redis-server", "redis-sentinel", "head", "printf",
                    "cat", "sleep"):
        assert command in redis.requires


def test_prometheus_image_accepts_the_rendered_args():
    prom = recipes.recipe("prometheus")
    # The rendered Deployment passes only args, so the entrypoint must be the binary itself.
    assert prom.entrypoint == ("/usr/bin/prometheus",)
    assert "mkdir -p /prometheus" in prom.post_install and f"chown {recipes.NOBODY}" in prom.post_install


def test_select_keeps_recipe_order_and_names_unknown_images():
    assert [r.name for r in recipes.select(["redis", "pause"])] == ["pause", "redis"]
    assert len(recipes.select([])) == len(RECIPES)
    with pytest.raises(KeyError, match="grafana"):
        recipes.select(["grafana"])


# --- cache keys ------------------------------------------------------------------------------

def test_keys_are_stable_and_distinct():
    assert _keys() == _keys()
    assert len(set(_keys().values())) == len(RECIPES)


def test_a_changed_input_binary_changes_only_the_images_that_copy_it():
    before, after = _keys(), _keys(etcd="c" * 64)
    changed = {n for n in before if before[n] != after[n]}
    assert changed == {"etcd"}


def test_a_changed_recipe_or_builder_version_changes_the_key():
    redis = recipes.recipe("redis")
    key = plan.image_key(redis, input_digests={}, base=plan.base_key("bookworm"))
    edited = dataclasses.replace(redis, packages=redis.packages + ("procps",))
    assert plan.image_key(edited, input_digests={}, base=plan.base_key("bookworm")) != key
    assert plan.image_key(redis, input_digests={}, base=plan.base_key("bookworm"), builder_version="999") != key
    assert plan.image_key(redis, input_digests={}, base=plan.base_key("trixie")) != key


def test_a_missing_input_digest_is_an_error():
    with pytest.raises(KeyError, match="etcd"):
        plan.image_key(recipes.recipe("etcd"), input_digests={}, base=None)


# --- planning --------------------------------------------------------------------------------

def test_plan_builds_reuses_cached_archives_and_honours_rebuild():
    keys = {"pause": "k1", "etcd": "k2", "redis": "k3"}
    steps = plan.plan_builds(keys, built=["k1", "k3"], rebuild=["redis"])
    assert [(s.name, s.action) for s in steps] == [("pause", "cached"), ("etcd", "build"), ("redis", "build")]
    assert steps[2].reason == "rebuild requested"


def test_plan_builds_second_run_builds_nothing():
    keys = _keys()
    assert {s.action for s in plan.plan_builds(keys, built=keys.values())} == {"cached"}


def test_plan_imports_only_missing_or_changed():
    wanted = [("parity.local/a:1", "/a.tar", "sha256:aa"), ("parity.local/b:1", "/b.tar", "sha256:bb"),
              ("parity.local/c:1", "/c.tar", "sha256:cc")]
    present = {"parity.local/a:1": "sha256:aa", "parity.local/b:1": "sha256:old"}
    steps = plan.plan_imports(wanted, present)
    assert [(s.reference, s.action) for s in steps] == [
        ("parity.local/a:1", "present"), ("parity.local/b:1", "import"), ("parity.local/c:1", "import")]
    assert "sha256:old" in steps[1].reason


def test_parse_ctr_images():
    out = (
        "REF                            TYPE                                    DIGEST                  SIZE    PLATFORMS   LABELS\n"
        "parity.local/pause:3.10        application/vnd.oci.image.manifest.v1+json sha256:41fd2420c364 330.5 KiB linux/amd64 -\n"
        "parity.local/redis:7.0         application/vnd.oci.image.manifest.v1+json sha256:0123 40.1 MiB linux/amd64 -\n"
    )
    assert plan.parse_ctr_images(out) == {"parity.local/pause:3.10": "sha256:41fd2420c364",
                                          "parity.local/redis:7.0": "sha256:0123"}
    assert plan.parse_ctr_images("REF TYPE DIGEST SIZE PLATFORMS LABELS\n") == {}


# --- mirror ----------------------------------------------------------------------------------

def test_mirror_from_deb822_sources_skips_security_and_disabled():
    sources = {
        "debian.sources": (
            "Types: deb\n# a comment\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\n"
            "Components: main\n\nTypes: deb\nURIs: http://mirror.example/debian-security\n"
            "Suites: bookworm-security\nComponents: main\n"),
        "other.sources": "Types: deb\nEnabled: no\nURIs: http://other.example/x\nSuites: bookworm\n",
    }
    mirrors = plan.parse_apt_mirrors(sources)
    assert ("http://mirror.example/debian", ["bookworm", "bookworm-updates"]) in mirrors
    assert all(uri != "http://other.example/x" for uri, _ in mirrors)
    assert plan.debian_mirror(mirrors) == "http://mirror.example/debian"


def test_mirror_from_one_line_sources_list_with_options():
    text = ("# deb http://commented.example/debian bookworm main\n"
            "deb-src http://src.example/debian bookworm main\n"
            "deb [arch=amd64 signed-by=/k.gpg] http://deb.example/debian trixie main\n")
    assert plan.parse_apt_mirrors({"sources.list": text}) == [("http://deb.example/debian", ["trixie"])]
    both = plan.parse_apt_mirrors({"a.list": "deb http://thirdparty.example/apt stable main\n",
                                   "b.list": "deb http://deb.example/debian bookworm main\n"})
    assert plan.debian_mirror(both) == "http://deb.example/debian"
    assert plan.debian_mirror([("http://thirdparty.example/apt", ["nodistro"])]) is None


# --- build-only files ------------------------------------------------------------------------

def test_planted_files_are_removed_and_what_they_hid_comes_back(tmp_path):
    from parity.images.build import planted

    (tmp_path / "etc" / "ssl").mkdir(parents=True)
    (tmp_path / "etc" / "ssl" / "bundle.crt").write_text("image's own")
    files = {"/etc/ssl/bundle.crt": (b"host's", 0o644), "/etc/pip.conf": (b"[global]\n", 0o644)}
    with pytest.raises(RuntimeError):
        with planted(tmp_path, files):
            assert (tmp_path / "etc" / "ssl" / "bundle.crt").read_text() == "host's"
            assert (tmp_path / "etc" / "pip.conf").is_file()
            raise RuntimeError("a failed build step")
    assert (tmp_path / "etc" / "ssl" / "bundle.crt").read_text() == "image's own"
    assert not (tmp_path / "etc" / "pip.conf").exists()


def test_host_pip_files_bring_the_certificate_pip_conf_names(tmp_path):
    from parity.images.build import host_pip_files

    cert = tmp_path / "ca.crt"
    cert.write_text("CA")
    conf = tmp_path / "pip.conf"
    conf.write_text(f"[global]\ncert = {cert}\n")
    files = host_pip_files(conf)
    assert files["/etc/pip.conf"][0] == conf.read_bytes()
    assert files[str(cert)][0] == b"CA"
    assert host_pip_files(tmp_path / "absent.conf") == {}


def test_a_layer_builder_bump_keeps_the_base_key():
    assert plan.base_key("trixie") == plan.base_key("trixie")
    assert plan.base_key("trixie") != plan.base_key("bookworm")
    redis = recipes.recipe("redis")
    assert plan.image_key(redis, input_digests={}, base=plan.base_key("bookworm"), builder_version="x") != \
        plan.image_key(redis, input_digests={}, base=plan.base_key("bookworm"), builder_version="y")


# --- CLI -------------------------------------------------------------------------------------

def test_cli_list_shows_every_image_and_what_is_missing(tmp_path, monkeypatch, capsys):
    from parity.cli.main import main
    from parity.images import build

    monkeypatch.setenv("PARITY_CACHE", str(tmp_path))
    catatonit = tmp_path / "catatonit"
    catatonit.write_bytes(b"\x7fELF")
    monkeypatch.setattr(build, "default_input_paths", lambda cache=None: {"catatonit": catatonit, "etcd": None})
    assert main(["images", "list"]) == 0
    out = capsys.readouterr().out
    for r in RECIPES:
        assert r.reference in out
    assert "(needs etcd)" in out and "no local image for grafana" in out

    assert main(["images", "list", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    rows = {row["name"]: row for row in data["images"]}
    assert rows["postgres-patroni"]["notes"]["bin_dir"] == "/usr/lib/postgresql/17/bin"
    assert not any(row["built"] for row in rows.values())


def test_cli_rejects_unknown_images_and_missing_inputs(tmp_path, monkeypatch, capsys):
    from parity.cli.main import main
    from parity.images import build

    monkeypatch.setenv("PARITY_CACHE", str(tmp_path))
    monkeypatch.setattr(build, "default_input_paths", lambda cache=None: {"catatonit": None, "etcd": None})
    assert main(["images", "build", "--only", "grafana"]) == 1
    assert "no image recipe named grafana" in capsys.readouterr().err
    assert main(["images", "build", "--only", "etcd"]) == 1
    err = capsys.readouterr().err
    assert "build.sh etcd-image" in err and "Traceback" not in err
    assert not (tmp_path / "images" / "archives").exists()


# --- import (ctr stand-in: a script that keeps its image list in a file) ----------------------

FAKE_CTR = r'''#!/usr/bin/env python3
import json, os, sys
state = os.environ["FAKE_CTR_STATE"]
images = json.load(open(state))
args = sys.argv[1:]
args = args[args.index("images") + 1:]
with open(state + ".calls", "a") as calls:
    calls.write(" ".join(args) + "\n")
if args[0] == "ls":
    print("REF TYPE DIGEST SIZE PLATFORMS LABELS")
    for ref, digest in images.items():
        print(f"{ref} application/vnd.oci.image.manifest.v1+json {digest} 1.0MiB linux/amd64 -")
elif args[0] == "import":
    ref, digest = open(args[1]).read().split()
    images[ref] = digest
    json.dump(images, open(state, "w"))
'''


def _fake_ctr(tmp_path, monkeypatch, present):
    ctr = tmp_path / "ctr"
    ctr.write_text(FAKE_CTR)
    ctr.chmod(0o755)
    state = tmp_path / "state.json"
    state.write_text(json.dumps(present))
    monkeypatch.setenv("FAKE_CTR_STATE", str(state))
    return ctr, state


def _built(tmp_path, name, digest, archived_digest=None):
    from parity.images.build import BuiltImage

    archive = tmp_path / f"{name}.tar"
    archive.write_text(f"parity.local/{name}:1 {archived_digest or digest}")
    return BuiltImage(name=name, reference=f"parity.local/{name}:1", version="1", key="k", archive=archive,
                      digest=digest, size=1, seconds=0.0, packages={})


def test_import_images_imports_only_missing_or_changed(tmp_path, monkeypatch):
    from parity.images.containerd import import_images

    ctr, state = _fake_ctr(tmp_path, monkeypatch, {"parity.local/a:1": "sha256:aa", "parity.local/b:1": "sha256:old"})
    images = [_built(tmp_path, "a", "sha256:aa"), _built(tmp_path, "b", "sha256:bb"), _built(tmp_path, "c", "sha256:cc")]
    steps = import_images(ctr, "/tmp/none.sock", images)
    assert [s.action for s in steps] == ["present", "import", "import"]
    imports = [line for line in (tmp_path / "state.json.calls").read_text().splitlines() if line.startswith("import")]
    assert imports == [f"import {tmp_path}/b.tar", f"import {tmp_path}/c.tar"]
    assert [s.action for s in import_images(ctr, "/tmp/none.sock", images)] == ["present"] * 3


def test_import_images_fails_when_containerd_lists_another_digest(tmp_path, monkeypatch):
    from parity.images.containerd import ImageImportError, import_images

    ctr, _ = _fake_ctr(tmp_path, monkeypatch, {})
    with pytest.raises(ImageImportError, match="expected sha256:aa"):
        import_images(ctr, "/tmp/none.sock", [_built(tmp_path, "a", "sha256:aa", archived_digest="sha256:zz")])


def test_import_images_names_a_missing_ctr(tmp_path):
    from parity.images.containerd import ImageImportError, import_images

    with pytest.raises(ImageImportError, match="ctr not found"):
        import_images(tmp_path / "no-ctr", "/tmp/none.sock", [])


def test_base_sources_carry_updates_and_security(tmp_path):
    from parity.images.build import host_debian_mirrors

    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://m.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\n"
        "Types: deb\nURIs: http://m.example/debian-security\nSuites: bookworm-security\nComponents: main\n")
    mirror, security = host_debian_mirrors(tmp_path)
    assert (mirror, security) == ("http://m.example/debian", "http://m.example/debian-security")
    assert plan.apt_sources("trixie", mirror, security).splitlines() == [
        "deb http://m.example/debian trixie main", "deb http://m.example/debian trixie-updates main",
        "deb http://m.example/debian-security trixie-security main"]
    assert "security" not in plan.apt_sources("trixie", mirror, None)


def test_no_debian_mirror_is_a_clear_error(tmp_path):
    from parity.images.build import BuildError, host_debian_mirrors

    (tmp_path / "sources.list.d").mkdir()
    with pytest.raises(BuildError, match="no Debian mirror"):
        host_debian_mirrors(tmp_path)


def test_a_new_build_removes_only_its_own_older_archives(tmp_path):
    from parity.images.build import stale_archives

    key = "a" * 64
    names = ["redis-aaaaaaaaaaaa.tar", "redis-aaaaaaaaaaaa.json", "redis-bbbbbbbbbbbb.tar", "redis-bbbbbbbbbbbb.json",
             "redis-exporter-cccccccccccc.tar", "redis-exporter-cccccccccccc.json", "redis-bbbbbbbbbbbb.tar.partial"]
    for name in names:
        (tmp_path / name).write_text("x")
    # Only redis's own archives at another key; never redis-exporter's (a prefix match took them).
    assert [p.name for p in stale_archives(tmp_path, "redis", key)] == ["redis-bbbbbbbbbbbb.json",
                                                                        "redis-bbbbbbbbbbbb.tar"]
