"""Where the API server is and how to prove who we are: kubeconfig files or the pod's service account.

One loader for every client in the process: `Kube` (blocking, the sync handlers and the CLI)
and kopf's own watches (`handlers/startup.py` logs kopf in with the same answer), so a context,
an exec plugin or a rotated token mean the same thing to both.

What it reads, as kubectl does:
- `KUBECONFIG` (several files joined with the path separator; the first to set a name wins,
  the first `current-context` wins) or `~/.kube/config`; `--context` picks another context.
- clusters: `server`, `certificate-authority` / `-data`, `insecure-skip-tls-verify`, `tls-server-name`;
- users: `client-certificate` / `-data`, `client-key` / `-data`, `token`, `tokenFile`,
  `username` / `password`, and `exec` credential plugins (client.authentication.k8s.io).
  Relative file paths are relative to the kubeconfig that names them.
- in a pod: the service account's token (re-read, since bound tokens rotate) and CA.
Legacy `auth-provider` plugins are refused by name: kubectl dropped them too.

Every refusal is a CredentialsError naming the file and the field.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
EXEC_TIMEOUT_SECONDS = 60


class CredentialsError(ValueError):
    """The kubeconfig or service account cannot give credentials; the message names what and where."""


@dataclass(frozen=True)
class ExecPlugin:
    command: str
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    api_version: str = "client.authentication.k8s.io/v1"
    cwd: str | None = None
    source: str = ""  # "kubeconfig <path>, user <name>": where a failure points


@dataclass(frozen=True)
class ClusterAccess:
    server: str
    ca_pem: str | None = None  # None: the system's trust store
    insecure: bool = False
    tls_server_name: str | None = None
    client_cert_pem: str | None = None
    client_key_pem: str | None = None
    token: str | None = None
    token_file: str | None = None  # read at use: service-account tokens rotate under us
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    exec_plugin: ExecPlugin | None = None
    namespace: str | None = None
    source: str = ""  # for messages: "kubeconfig /path, context x" or "service account"


@dataclass(frozen=True)
class ExecCredential:
    token: str | None
    client_cert_pem: str | None
    client_key_pem: str | None
    expires: dt.datetime | None  # None: good for the life of the process


def in_cluster() -> bool:
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and (SERVICE_ACCOUNT_DIR / "token").exists()


def load_access(kubeconfig: str | None = None, context: str | None = None) -> ClusterAccess:
    """The service account when running in a pod and no kubeconfig was asked for, else the kubeconfig."""
    if kubeconfig is None and context is None and not os.environ.get("KUBECONFIG") and in_cluster():
        return service_account_access()
    return kubeconfig_access(kubeconfig_paths(kubeconfig), context)


def kubeconfig_paths(kubeconfig: str | None = None) -> list[Path]:
    if kubeconfig:
        return [Path(kubeconfig).expanduser()]
    env = os.environ.get("KUBECONFIG", "")
    paths = [Path(p).expanduser() for p in env.split(os.pathsep) if p.strip()]
    return paths or [Path("~/.kube/config").expanduser()]


def service_account_access(root: Path = SERVICE_ACCOUNT_DIR, environ=os.environ) -> ClusterAccess:
    host, port = environ.get("KUBERNETES_SERVICE_HOST", ""), environ.get("KUBERNETES_SERVICE_PORT", "443")
    if not host:
        raise CredentialsError("in-cluster: KUBERNETES_SERVICE_HOST is not set")
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    ca = root / "ca.crt"
    namespace = root / "namespace"
    return ClusterAccess(
        server=f"https://{host}:{port}",
        ca_pem=ca.read_text() if ca.exists() else None,
        token_file=str(root / "token"),
        namespace=namespace.read_text().strip() if namespace.exists() else None,
        source=f"service account ({root})",
    )


def _named(entries: Any, what: str, path: Path) -> dict[str, tuple[dict, Path]]:
    if entries is None:
        return {}
    if not isinstance(entries, list):
        raise CredentialsError(f"kubeconfig {path}: {what} must be a list")
    out = {}
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise CredentialsError(f"kubeconfig {path}: {what}[{i}] has no name")
        body = entry.get(what[:-1]) or {}
        if not isinstance(body, dict):
            raise CredentialsError(f"kubeconfig {path}: {what}[{i}] ({entry['name']}).{what[:-1]} must be a map")
        out[entry["name"]] = (body, path)
    return out


def kubeconfig_access(paths: list[Path], context: str | None = None) -> ClusterAccess:
    """Merge the files as kubectl does and resolve one context into ClusterAccess."""
    contexts: dict[str, tuple[dict, Path]] = {}
    clusters: dict[str, tuple[dict, Path]] = {}
    users: dict[str, tuple[dict, Path]] = {}
    current = None
    found = []
    for path in paths:
        try:
            text = path.read_text()
        except FileNotFoundError:
            continue  # kubectl skips missing files in KUBECONFIG
        except OSError as err:
            raise CredentialsError(f"kubeconfig {path}: {err.strerror}") from None
        try:
            doc = yaml.safe_load(text) or {}
        except yaml.YAMLError as err:
            raise CredentialsError(f"kubeconfig {path}: not YAML: {str(err).splitlines()[0]}") from None
        if not isinstance(doc, dict):
            raise CredentialsError(f"kubeconfig {path}: not a kubeconfig (a map is expected)")
        found.append(path)
        current = current or doc.get("current-context") or None
        for name, entry in _named(doc.get("contexts"), "contexts", path).items():
            contexts.setdefault(name, entry)
        for name, entry in _named(doc.get("clusters"), "clusters", path).items():
            clusters.setdefault(name, entry)
        for name, entry in _named(doc.get("users"), "users", path).items():
            users.setdefault(name, entry)
    where = ", ".join(map(str, paths))
    if not found:
        raise CredentialsError(f"no kubeconfig at {where} (set KUBECONFIG, or run inside a pod)")
    name = context or current
    if not name:
        raise CredentialsError(f"kubeconfig {where}: current-context is not set (or pass --context)")
    if name not in contexts:
        known = ", ".join(sorted(contexts)) or "none"
        raise CredentialsError(f"kubeconfig {where}: context {name!r} not found (contexts: {known})")
    ctx, ctx_path = contexts[name]
    cluster_name, user_name = ctx.get("cluster"), ctx.get("user")
    if cluster_name not in clusters:
        raise CredentialsError(f"kubeconfig {ctx_path}: context {name!r} names cluster {cluster_name!r}, "
                               "which no kubeconfig defines")
    cluster, cluster_path = clusters[cluster_name]
    user, user_path = users.get(user_name, ({}, ctx_path)) if user_name else ({}, ctx_path)
    server = cluster.get("server")
    if not isinstance(server, str) or not server:
        raise CredentialsError(f"kubeconfig {cluster_path}: clusters[{cluster_name}].cluster.server is not set")
    cluster_where = f"kubeconfig {cluster_path}: clusters[{cluster_name}].cluster"
    user_where = f"kubeconfig {user_path}: users[{user_name}].user"
    if "auth-provider" in user:
        provider = (user.get("auth-provider") or {}).get("name", "?")
        raise CredentialsError(f"{user_where}.auth-provider ({provider}) is a legacy plugin kubectl no longer "
                               "runs either: use an exec credential plugin")
    return ClusterAccess(
        server=server.rstrip("/"),
        ca_pem=_pem(cluster, "certificate-authority", cluster_path.parent, cluster_where),
        insecure=bool(cluster.get("insecure-skip-tls-verify")),
        tls_server_name=cluster.get("tls-server-name") or None,
        client_cert_pem=_pem(user, "client-certificate", user_path.parent, user_where),
        client_key_pem=_pem(user, "client-key", user_path.parent, user_where),
        token=user.get("token") or None,
        token_file=str(_relative(user["tokenFile"], user_path.parent)) if user.get("tokenFile") else None,
        username=user.get("username") or None,
        password=user.get("password") or None,
        exec_plugin=_exec_plugin(user.get("exec"), user_path.parent, user_where) if user.get("exec") else None,
        namespace=ctx.get("namespace") or None,
        source=f"kubeconfig {ctx_path}, context {name}",
    )


def _relative(value: str, base: Path) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path


def _pem(section: dict, key: str, base: Path, where: str) -> str | None:
    """`key-data` (base64 of PEM) or the file `key` names, as PEM text."""
    data = section.get(f"{key}-data")
    if data:
        try:
            text = base64.b64decode(data, validate=True).decode("ascii")
        except (ValueError, UnicodeDecodeError):
            raise CredentialsError(f"{where}.{key}-data is not base64 of a PEM block") from None
        if "-----BEGIN" not in text:
            raise CredentialsError(f"{where}.{key}-data is not base64 of a PEM block")
        return text
    if section.get(key):
        path = _relative(section[key], base)
        try:
            return path.read_text()
        except OSError as err:
            raise CredentialsError(f"{where}.{key}: {path}: {err.strerror}") from None
    return None


def _exec_plugin(spec: Any, base: Path, where: str) -> ExecPlugin:
    if not isinstance(spec, dict) or not spec.get("command"):
        raise CredentialsError(f"{where}.exec.command is not set")
    command = str(spec["command"])
    # kubectl: a command with a path separator is relative to the kubeconfig; a bare name is looked up on PATH.
    if os.sep in command and not os.path.isabs(command):
        command = str(base / command)
    env = []
    for i, item in enumerate(spec.get("env") or []):
        if not isinstance(item, dict) or "name" not in item:
            raise CredentialsError(f"{where}.exec.env[{i}] needs name and value")
        env.append((str(item["name"]), str(item.get("value", ""))))
    return ExecPlugin(command=command, args=tuple(str(a) for a in spec.get("args") or ()), env=tuple(env),
                      api_version=str(spec.get("apiVersion") or "client.authentication.k8s.io/v1"),
                      cwd=str(base), source=where + ".exec")


def run_exec_plugin(plugin: ExecPlugin, runner=subprocess.run) -> ExecCredential:
    """Run the plugin (non-interactive, as a controller must) and read its ExecCredential."""
    info = {"apiVersion": plugin.api_version, "kind": "ExecCredential", "spec": {"interactive": False}}
    env = {**os.environ, **dict(plugin.env), "KUBERNETES_EXEC_INFO": json.dumps(info)}
    try:
        proc = runner([plugin.command, *plugin.args], env=env, cwd=plugin.cwd, capture_output=True, text=True,
                      stdin=subprocess.DEVNULL, timeout=EXEC_TIMEOUT_SECONDS)
    except FileNotFoundError:
        raise CredentialsError(f"{plugin.source}: command {plugin.command!r} not found") from None
    except subprocess.TimeoutExpired:
        raise CredentialsError(f"{plugin.source}: {plugin.command} did not answer within "
                               f"{EXEC_TIMEOUT_SECONDS} s") from None
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no message"])[-1]
        raise CredentialsError(f"{plugin.source}: {plugin.command} exited {proc.returncode}: {last}")
    try:
        status = (json.loads(proc.stdout) or {}).get("status") or {}
    except (ValueError, AttributeError):
        raise CredentialsError(f"{plugin.source}: {plugin.command} did not print an ExecCredential") from None
    token, cert, key = status.get("token"), status.get("clientCertificateData"), status.get("clientKeyData")
    if not token and not (cert and key):
        raise CredentialsError(f"{plugin.source}: the ExecCredential has neither status.token nor "
                               "status.clientCertificateData and clientKeyData")
    expires = None
    if status.get("expirationTimestamp"):
        try:
            expires = dt.datetime.fromisoformat(status["expirationTimestamp"].replace("Z", "+00:00"))
        except (ValueError, AttributeError):
            raise CredentialsError(f"{plugin.source}: status.expirationTimestamp "
                                   f"{status['expirationTimestamp']!r} is not RFC 3339") from None
    return ExecCredential(token=token or None, client_cert_pem=cert or None, client_key_pem=key or None,
                          expires=expires)
