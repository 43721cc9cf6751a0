"""The Tiltfile's logic, executed by a real Starlark interpreter (starlark-pyo3) with stub Tilt
builtins that record what the Tiltfile asks for. This is not Tilt. Real Tilt runs the host mode
end to end in tests/integration/test_tilt_ci.py (`tilt ci`, `tilt up` with an edit, `tilt down`
against a private control plane); what stays here is what real Tilt cannot show on this machine:
the in-cluster mode (no Docker engine here: image build, live_update, restart, RBAC grouping,
observability NodePorts), the mode choice itself, the manual buttons `tilt ci` never runs, and
`tilt down`'s teardown arguments in in-cluster mode. Where the Tiltfile refers to other files
(Dockerfile stages, kind port mappings, render labels, CLI commands) the test reads those files
or that code, so the pieces cannot drift apart silently.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import starlark as sl
import yaml

from parity.cli.main import build_parser
from parity.cli.main import main as parity_main

REPO = Path(__file__).resolve().parents[2]
TILTFILE = REPO / "Tiltfile"
CRD_NAMES = {"parityenvironments.parity.dev", "paritybaselines.parity.dev", "paritynotifiers.parity.dev"}
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"}
MANUAL, AUTO = "TRIGGER_MODE_MANUAL", "TRIGGER_MODE_AUTO"


class Blob:
    """Tilt's Blob: YAML text handed around by kustomize(), encode_yaml_stream() and read_file()."""

    def __init__(self, text: str):
        self.text = text


class TiltError(Exception):
    """What Tilt itself would refuse at load time."""


def _mini_kustomize(directory: Path) -> str:
    """Enough of kustomize for manifests/operator: resources (files) and images. Anything else
    fails, so that a new kustomize feature there makes this stub grow instead of lie."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unsupported = set(kustomization) - {"apiVersion", "kind", "resources", "images"}
    if unsupported:
        raise TiltError(f"test stub kustomize does not support {sorted(unsupported)}")
    docs = []
    for resource in kustomization.get("resources", []):
        path = directory / resource
        if not path.is_file():
            raise TiltError(f"kustomize: {path} is not a file")
        docs.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    for image in kustomization.get("images", []):
        for doc in docs:
            for container in doc.get("spec", {}).get("template", {}).get("spec", {}).get("containers", []):
                repo, _, tag = container["image"].partition(":")
                if repo == image["name"]:
                    container["image"] = f"{image.get('newName', repo)}:{image.get('newTag', tag)}"
    return yaml.safe_dump_all(docs, sort_keys=False)


@dataclass
class Resource:
    name: str
    type: str  # k8s | local
    objects: list[dict] = field(default_factory=list)
    args: dict = field(default_factory=dict)

    @property
    def deps(self) -> list[str]:
        return list(self.args.get("resource_deps") or [])


class TiltStub:
    """Records the Tiltfile's calls and applies Tilt's own load-time rules to them."""

    def __init__(self, *, docker: bool, context: str, settings: dict | None = None):
        self.docker = docker
        self.token = "0123456789abcdef"
        self.context = context
        self.settings = settings
        self.local_commands: list[str] = []
        self.allowed_contexts: list[str] = []
        self.applied: list[dict] = []
        self.k8s_resource_calls: list[dict] = []
        self.local_resources: dict[str, dict] = {}
        self.docker_builds: list[dict] = []
        self.restart_builds: list[dict] = []
        self.extensions_loaded: list[str] = []
        self.registry: str | None = None

    # -- builtins ------------------------------------------------------------------------------
    def read_yaml(self, path, default=None, **_):
        if path == "tilt-settings.yaml":
            return self.settings if self.settings is not None else default
        file = REPO / path
        if not file.exists():
            if default is not None:
                return default
            raise TiltError(f"read_yaml: {path} does not exist")
        return yaml.safe_load(file.read_text())

    def local(self, command, quiet=False, **_):
        self.local_commands.append(command)
        if isinstance(command, str) and "docker info" in command:
            return "yes\n" if self.docker else "no\n"
        if isinstance(command, str) and "secrets.token_hex" in command:
            return self.token + "\n"
        if not isinstance(command, str) and list(command)[0] == "tools/teardown-env.sh":
            return ""
        raise TiltError(f"unexpected local() while loading the Tiltfile: {command}")

    def k8s_yaml(self, yaml_, allow_duplicates=False):
        texts = []
        for item in yaml_ if isinstance(yaml_, list) else [yaml_]:
            if isinstance(item, Blob):
                texts.append(item.text)
            elif isinstance(item, str):
                path = REPO / item
                if not path.is_file():
                    raise TiltError(f"k8s_yaml: no such file {item} (a YAML string must be passed as a Blob)")
                texts.append(path.read_text())
            else:
                raise TiltError(f"k8s_yaml: unsupported argument {item!r}")
        for text in texts:
            for doc in yaml.safe_load_all(text):
                if not doc:
                    continue
                key = _identity(doc)
                if any(_identity(o) == key for o in self.applied) and not allow_duplicates:
                    raise TiltError(f"k8s_yaml: duplicate object {key}")
                self.applied.append(doc)

    def kustomize(self, path, **_):
        return sl.OpaquePythonObject(Blob(_mini_kustomize(REPO / path)))

    def decode_yaml_stream(self, blob):
        text = blob.text if isinstance(blob, Blob) else blob
        return [d for d in yaml.safe_load_all(text) if d]

    def encode_yaml_stream(self, objects):
        return sl.OpaquePythonObject(Blob(yaml.safe_dump_all(list(objects), sort_keys=False)))

    def k8s_resource(self, workload="", **kwargs):
        self.k8s_resource_calls.append({"workload": workload, **kwargs})

    def local_resource(self, name, cmd="", **kwargs):
        if name in self.local_resources:
            raise TiltError(f"local_resource {name} defined twice")
        if not cmd and not kwargs.get("serve_cmd"):
            raise TiltError(f"local_resource {name}: needs cmd or serve_cmd")
        self.local_resources[name] = {"cmd": cmd, **kwargs}

    def docker_build(self, ref, context, **kwargs):
        self.docker_builds.append({"ref": ref, "context": context, **kwargs})

    def docker_build_with_restart(self, ref, context, entrypoint, live_update, **kwargs):
        self.restart_builds.append({"ref": ref, "context": context, "entrypoint": entrypoint,
                                    "live_update": live_update, **kwargs})

    def record_extension(self, path):
        self.extensions_loaded.append(path)
        if path != "ext://restart_process":
            raise TiltError(f"unexpected extension {path}")

    def globals_module(self) -> sl.Module:
        module = sl.Module()
        for name in ("read_yaml", "local", "k8s_yaml", "kustomize", "decode_yaml_stream", "encode_yaml_stream",
                     "k8s_resource", "local_resource", "docker_build"):
            module.add_callable(name, getattr(self, name))
        module.add_callable("_docker_build_with_restart", self.docker_build_with_restart)
        module.add_callable("_record_extension", self.record_extension)
        module.add_callable("allow_k8s_contexts", lambda contexts: self.allowed_contexts.extend(
            contexts if isinstance(contexts, list) else [contexts]))
        module.add_callable("default_registry", lambda registry, **_: setattr(self, "registry", registry))
        module.add_callable("k8s_context", lambda: self.context)
        module.add_callable("_getenv", lambda key, default=None: default)
        module.add_callable("sync", lambda src, dest: {"step": "sync", "src": src, "dest": dest})
        module.add_callable("run", lambda cmd, trigger=None: {"step": "run", "cmd": cmd, "trigger": trigger})
        module.add_callable("fall_back_on", lambda files: {"step": "fall_back_on", "files": files})
        module.add_callable("link", lambda url, name=None: {"url": url, "name": name})
        module.add_callable("port_forward", lambda local_port, container_port=None, name=None, **kw: {
            "local_port": local_port, "container_port": container_port, "name": name})
        module.add_callable("probe", lambda **kw: {"probe": kw})
        module.add_callable("exec_action", lambda command: {"command": list(command)})
        module.add_callable("http_get_action", lambda port, host="localhost", scheme="http", path="": {
            "port": port, "host": host, "scheme": scheme, "path": path})
        module.add_callable("watch_file", lambda path: None)

        def fail(message):
            raise TiltError(f"fail(): {message}")

        module.add_callable("fail", fail)
        module["TRIGGER_MODE_MANUAL"] = MANUAL
        module["TRIGGER_MODE_AUTO"] = AUTO
        return module


PRELUDE = """
os = struct(getenv = _getenv)
config = struct(main_dir = "/repo", tilt_subcommand = "%s")
def load_dynamic(path):
    _record_extension(path)
    return {"docker_build_with_restart": _docker_build_with_restart}
"""


def _identity(obj: dict) -> tuple[str, str, str]:
    return (obj["kind"].lower(), obj["metadata"]["name"], obj["metadata"].get("namespace", ""))


@dataclass
class Loaded:
    stub: TiltStub
    resources: dict[str, Resource]

    def resource_holding(self, kind: str, name: str) -> Resource:
        for resource in self.resources.values():
            if any(o["kind"] == kind and o["metadata"]["name"] == name for o in resource.objects):
                return resource
        raise AssertionError(f"no resource holds {kind}/{name}")

    def depends_on(self, resource: str, other: str) -> bool:
        """Whether `resource` waits for `other`, directly or through other resources."""
        seen, todo = set(), list(self.resources[resource].deps)
        while todo:
            name = todo.pop()
            if name == other:
                return True
            if name not in seen:
                seen.add(name)
                todo.extend(self.resources[name].deps)
        return False

    def applied(self, kind: str) -> list[dict]:
        return [o for o in self.stub.applied if o["kind"] == kind]


def _select(selector: str, objects: list[dict]) -> list[dict]:
    """Tilt's object selector `name[:kind[:namespace]]` (case-insensitive kind)."""
    parts = selector.split(":")
    name, kind, namespace = (parts + [None, None])[:3]
    return [o for o in objects
            if o["metadata"]["name"] == name
            and (kind is None or o["kind"].lower() == kind.lower())
            and (namespace is None or o["metadata"].get("namespace", "") == namespace)]


def assemble(stub: TiltStub) -> dict[str, Resource]:
    """Tilt's resource assembly: one resource per workload, k8s_resource() to rename, group or
    attach objects, local resources; refuses what Tilt refuses (unknown names, unmatched or
    doubly claimed selectors, unknown resource_deps, cycles)."""
    resources: dict[str, Resource] = {}
    claimed: set[tuple] = set()
    for obj in stub.applied:
        if obj["kind"] in WORKLOAD_KINDS:
            name = obj["metadata"]["name"]
            if name in resources:
                raise TiltError(f"two workloads named {name}")
            resources[name] = Resource(name, "k8s", [obj])
            claimed.add(_identity(obj))
    for call in stub.k8s_resource_calls:
        args = {k: v for k, v in call.items() if k not in ("workload", "new_name", "objects")}
        workload, new_name = call["workload"], call.get("new_name")
        if workload:
            if workload not in resources:
                raise TiltError(f"k8s_resource: no workload named {workload!r}")
            resource = resources.pop(workload)
            resource.name = new_name or workload
        elif new_name:
            if new_name in resources:
                raise TiltError(f"k8s_resource: {new_name} already exists")
            resource = Resource(new_name, "k8s")
        else:
            raise TiltError("k8s_resource: needs a workload or new_name")
        for selector in call.get("objects") or []:
            matches = _select(selector, stub.applied)
            if not matches:
                raise TiltError(f"k8s_resource({resource.name}): no object matches {selector!r}")
            for obj in matches:
                if _identity(obj) in claimed:
                    raise TiltError(f"k8s_resource({resource.name}): {selector!r} already belongs to a resource")
                claimed.add(_identity(obj))
                resource.objects.append(obj)
        if resource.type == "k8s" and not resource.objects:
            raise TiltError(f"k8s_resource({resource.name}): no objects")
        resource.args.update(args)
        resources[resource.name] = resource
    for name, args in stub.local_resources.items():
        if name in resources:
            raise TiltError(f"resource name {name} used twice")
        resources[name] = Resource(name, "local", [], args)
    for resource in resources.values():
        for dep in resource.deps:
            if dep not in resources:
                raise TiltError(f"{resource.name}: resource_deps names unknown resource {dep!r}")
    for name in resources:  # no cycles
        stack, seen = [(name, [name])], set()
        while stack:
            current, path = stack.pop()
            for dep in resources[current].deps:
                if dep == name:
                    raise TiltError("resource_deps cycle: " + " -> ".join(path + [dep]))
                if dep not in seen:
                    seen.add(dep)
                    stack.append((dep, path + [dep]))
    return resources


def load_tiltfile(*, docker: bool, context: str = "kind-parity", settings: dict | None = None,
                  subcommand: str = "up") -> Loaded:
    stub = TiltStub(docker=docker, context=context, settings=settings)
    module = stub.globals_module()
    dialect = sl.Dialect.extended()  # Tilt allows if/for at the top level
    globals_ = sl.Globals.extended_by([sl.LibraryExtension.StructType, sl.LibraryExtension.Print,
                                       sl.LibraryExtension.Json])

    def file_loader(path: str):
        stub.record_extension(path)
        ext = sl.Module()
        ext.add_callable("docker_build_with_restart", stub.docker_build_with_restart)
        return ext.freeze()

    sl.eval(module, sl.parse("prelude", PRELUDE % subcommand, dialect), globals_)
    sl.eval(module, sl.parse("Tiltfile", TILTFILE.read_text(), dialect), globals_, sl.FileLoader(file_loader))
    return Loaded(stub, assemble(stub))


@pytest.fixture(scope="module")
def in_cluster() -> Loaded:
    return load_tiltfile(docker=True, context="kind-parity")


@pytest.fixture(scope="module")
def host() -> Loaded:
    return load_tiltfile(docker=False, context="parity-local")


def _parity_argv(command: str) -> list[str]:
    argv = shlex.split(command)
    assert argv[0] == ".venv/bin/parity", command
    return argv[1:]


def _dockerfile_stages() -> dict[str, list[str]]:
    stages: dict[str, list[str]] = {}
    current = None
    for line in (REPO / "operator" / "Dockerfile").read_text().splitlines():
        words = line.split()
        if words and words[0] == "FROM":
            current = words[3] if len(words) >= 4 and words[2].upper() == "AS" else words[1]
            stages[current] = [line]
        elif current and line.strip() and not line.lstrip().startswith("#"):
            stages[current].append(line.strip())
    return stages


# --- both modes ------------------------------------------------------------------------------------

# Host mode: tests/integration/test_tilt_ci.py runs it under real Tilt.
@pytest.mark.parametrize("mode", ["in_cluster"])
def test_crds_baselines_and_sample_are_applied(mode, request):
    loaded: Loaded = request.getfixturevalue(mode)
    assert {o["metadata"]["name"] for o in loaded.applied("CustomResourceDefinition")} == CRD_NAMES
    baseline_files = sorted((REPO / "baselines").glob("*.yaml"))
    expected = {yaml.safe_load(f.read_text())["metadata"]["name"] for f in baseline_files}
    assert {o["metadata"]["name"] for o in loaded.applied("ParityBaseline")} == expected
    sample = yaml.safe_load((REPO / "manifests" / "samples" / "dev.yaml").read_text())
    assert [o["metadata"]["name"] for o in loaded.applied("ParityEnvironment")] == [sample["metadata"]["name"]]


# Host mode: tests/integration/test_tilt_ci.py runs it under real Tilt.
@pytest.mark.parametrize("mode", ["in_cluster"])
def test_crds_are_established_before_baselines_and_sample(mode, request):
    loaded: Loaded = request.getfixturevalue(mode)
    crd_resource = {loaded.resource_holding("CustomResourceDefinition", n).name for n in CRD_NAMES}
    assert len(crd_resource) == 1
    (crd_resource,) = crd_resource
    waiters = [r for r in loaded.resources.values()
               if r.type == "local" and "--for=condition=Established" in r.args["cmd"]]
    assert len(waiters) == 1, "one local_resource must wait for the CRDs to be Established"
    waiter = waiters[0]
    assert all(f"crd/{n}" in waiter.args["cmd"] for n in CRD_NAMES), waiter.args["cmd"]
    assert "kubectl wait " in waiter.args["cmd"] and waiter.args["cmd"].endswith("exit 1")  # retried, fails at last
    assert loaded.depends_on(waiter.name, crd_resource)
    for kind, name in [("ParityBaseline", o["metadata"]["name"]) for o in loaded.applied("ParityBaseline")] + \
                      [("ParityEnvironment", o["metadata"]["name"]) for o in loaded.applied("ParityEnvironment")]:
        holder = loaded.resource_holding(kind, name)
        assert loaded.depends_on(holder.name, waiter.name), f"{kind}/{name} ({holder.name}) does not wait for CRDs"


# Host mode: tests/integration/test_tilt_ci.py runs it under real Tilt.
@pytest.mark.parametrize("mode", ["in_cluster"])
def test_sample_waits_for_operator_and_baselines(mode, request):
    loaded: Loaded = request.getfixturevalue(mode)
    sample = loaded.resource_holding("ParityEnvironment", "dev")
    assert loaded.depends_on(sample.name, "parity-operator")
    assert loaded.depends_on(sample.name, loaded.resource_holding("ParityBaseline", "production").name)


@pytest.mark.parametrize("mode", ["in_cluster", "host"])
def test_diff_buttons_are_manual_and_run_real_commands(mode, request):
    loaded: Loaded = request.getfixturevalue(mode)
    buttons = {name: r.args for name, r in loaded.resources.items()
               if r.type == "local" and " diff " in f" {r.args['cmd']} "}
    assert "parity-diff" in buttons
    for name, args in buttons.items():
        assert args["trigger_mode"] == MANUAL and args["auto_init"] is False, name
        parsed = build_parser().parse_args(_parity_argv(args["cmd"]))
        assert parsed.command == "diff"
    cluster = build_parser().parse_args(_parity_argv(buttons["parity-diff"]["cmd"]))
    assert (cluster.namespace, cluster.target) == ("default", "dev")
    assert loaded.depends_on("parity-diff", loaded.resource_holding("ParityEnvironment", "dev").name)


def test_offline_diff_button_command_runs(in_cluster, capsys, monkeypatch):
    """The offline button's command, run in-process: exit 0 or 2 (drift), never 1 (bad input)."""
    argv = _parity_argv(in_cluster.resources["parity-diff-offline"].args["cmd"])
    monkeypatch.chdir(REPO)  # Tilt runs local_resource commands from the Tiltfile's directory
    code = parity_main(argv)
    out = capsys.readouterr()
    assert code in (0, 2), out.err


@pytest.mark.parametrize("mode", ["in_cluster", "host"])
def test_allowed_contexts(mode, request):
    loaded: Loaded = request.getfixturevalue(mode)
    assert {"parity-local", "kind-parity"} <= set(loaded.stub.allowed_contexts)


# --- host mode ----------------------------------------------------------------------------------

def test_host_mode_operator_ignores_its_own_bytecode(host):
    """Real Tilt restarts the operator on edits (test_tilt_ci.py); that Python's own bytecode
    writes do not restart it in a loop is seen only here."""
    operator = host.resources["parity-operator"]
    assert "operator/parity" in operator.args["deps"]
    assert any("__pycache__" in pattern for pattern in operator.args["ignore"])
    assert operator.args["serve_env"]["PYTHONDONTWRITEBYTECODE"] == "1"


def test_in_cluster_tilt_down_deletes_the_sample_through_the_forwarded_liveness_port():
    """`tilt down` runs the teardown before Tilt deletes anything, naming the sample and the
    liveness URL the in-cluster operator is reached at (its port_forward). Host mode's teardown
    runs under real Tilt in test_tilt_ci.py."""
    loaded = load_tiltfile(docker=True, context="kind-parity", subcommand="down")
    (teardown,) = [c for c in loaded.stub.local_commands if not isinstance(c, str)]
    script, namespace, name, liveness = teardown
    assert (REPO / script).is_file()
    assert (namespace, name) == ("default", "dev")
    forwards = {f["name"]: f for f in loaded.resources["parity-operator"].args["port_forwards"]}
    assert forwards["healthz"]["container_port"] == 8081
    assert liveness == f"http://127.0.0.1:{forwards['healthz']['local_port']}/healthz"
    assert "tools/teardown-env.sh" not in str(load_tiltfile(docker=True, context="kind-parity").stub.local_commands)


def test_host_mode_builds_no_image_and_fetches_no_extension(host):
    assert host.stub.docker_builds == [] and host.stub.restart_builds == []
    assert host.stub.extensions_loaded == []
    assert host.applied("Deployment") == []
    # RBAC and the metrics Service are still applied, grouped in one resource.
    rbac = host.resource_holding("ClusterRole", "parity-operator")
    assert {o["kind"] for o in rbac.objects} >= {"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding"}
    assert host.resource_holding("ClusterRole", "parity-patroni") is rbac


def test_docker_with_local_control_plane_context_is_host_mode():
    """kwok pods run no processes: a Docker engine does not help on the local control plane."""
    loaded = load_tiltfile(docker=True, context="parity-local")
    assert loaded.resources["parity-operator"].type == "local"
    assert loaded.stub.restart_builds == []


def test_settings_can_force_host_mode():
    loaded = load_tiltfile(docker=True, context="kind-parity", settings={"docker": "off"})
    assert loaded.resources["parity-operator"].type == "local"
    # No docker probe when the setting decides.
    assert not any("docker info" in str(c) for c in loaded.stub.local_commands)


# --- in-cluster mode ------------------------------------------------------------------------------

def test_in_cluster_builds_the_dev_image_with_live_update_and_restart(in_cluster):
    assert in_cluster.stub.extensions_loaded == ["ext://restart_process"]
    (build,) = in_cluster.stub.restart_builds
    deployment = in_cluster.resources["parity-operator"].objects[0]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"].split(":")[0] == build["ref"]
    assert build["context"] == "." and build["dockerfile"] == "operator/Dockerfile"

    stages = _dockerfile_stages()
    assert build["target"] in stages
    # The restarted command is the image's own entrypoint.
    entrypoint_lines = [line for lines in stages.values() for line in lines if line.startswith("ENTRYPOINT")]
    assert entrypoint_lines[-1] == "ENTRYPOINT " + str(build["entrypoint"]).replace("'", '"')

    syncs = [s for s in build["live_update"] if s["step"] == "sync"]
    assert [(s["src"], s["dest"]) for s in syncs] == [("operator/parity", "/app/parity")]
    dev = "\n".join(stages[build["target"]])
    # The sync target shadows the installed package and is writable by the runtime user.
    assert "PYTHONPATH=/app" in dev and "--chown=65532:65532 operator/parity /app/parity" in dev
    # The restart file lives in a directory the runtime user owns (not in the /tmp emptyDir).
    restart_dir = build["restart_file"].rsplit("/", 1)[0]
    assert f"install -d -o 65532 -g 65532 {restart_dir}" in dev
    assert any(s["step"] == "fall_back_on" and "pyproject.toml" in s["files"] for s in build["live_update"])
    assert "command" not in container and "args" not in container


def test_in_cluster_relaxes_only_the_read_only_root(in_cluster):
    deployment = in_cluster.resources["parity-operator"].objects[0]
    security = deployment["spec"]["template"]["spec"]["containers"][0]["securityContext"]
    assert security["readOnlyRootFilesystem"] is False
    assert security["runAsNonRoot"] is True and security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    shipped = yaml.safe_load((REPO / "manifests" / "operator" / "deployment.yaml").read_text())
    assert shipped["spec"]["template"]["spec"]["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is True


def test_in_cluster_groups_rbac_with_the_operator(in_cluster):
    kinds = {o["kind"] for o in in_cluster.resources["parity-operator"].objects}
    names = {o["metadata"]["name"] for o in in_cluster.resources["parity-operator"].objects}
    assert "parity-patroni" in names
    assert {"Deployment", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Namespace"} <= kinds


def test_observability_node_ports_match_kind_and_render_labels():
    from parity.render.common import selector_labels

    loaded = load_tiltfile(docker=True, context="kind-parity", settings={"observability": True})
    kind = yaml.safe_load((REPO / "manifests" / "kind-config.yaml").read_text())
    mappings = {m["containerPort"]: m["hostPort"] for n in kind["nodes"] for m in n.get("extraPortMappings", [])}
    resource = loaded.resources["observability-nodeports"]
    links = {link["url"] for link in resource.args["links"]}
    assert len(resource.objects) == 3
    for service in resource.objects:
        part = service["spec"]["selector"]["app.kubernetes.io/name"]
        assert service["spec"]["selector"] == selector_labels("dev", part)
        (port,) = service["spec"]["ports"]
        assert port["nodePort"] in mappings, f"{part}: node port {port['nodePort']} is not published by kind"
        assert f"http://localhost:{mappings[port['nodePort']]}" in links
    assert loaded.depends_on("observability-nodeports", loaded.resource_holding("ParityEnvironment", "dev").name)


def test_observability_is_off_by_default_and_in_host_mode(in_cluster):
    assert "observability-nodeports" not in in_cluster.resources
    host = load_tiltfile(docker=False, context="parity-local", settings={"observability": True})
    assert "observability-nodeports" not in host.resources


def test_stub_refuses_what_tilt_refuses():
    """The assembly rules above can fail: an unknown dependency and a selector matching nothing."""
    stub = TiltStub(docker=False, context="parity-local")
    stub.local_resource("a", cmd="true", resource_deps=["missing"])
    with pytest.raises(TiltError, match="unknown resource"):
        assemble(stub)
    stub = TiltStub(docker=False, context="parity-local")
    stub.k8s_resource(new_name="x", objects=["nothing:configmap"])
    with pytest.raises(TiltError, match="no object matches"):
        assemble(stub)
