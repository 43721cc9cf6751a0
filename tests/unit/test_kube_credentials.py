"""kube/credentials.py and the client's use of it: kubeconfig merging and refusals that name the
file and field, the service account, exec credential plugins (run for real, as scripts), and
the headers a small HTTP server standing in for the API server receives."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import sys
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import kopf
import pytest
import yaml
from support import http_server

from parity.handlers.login import login
from parity.kube import client as kube_client
from parity.kube.client import Kube, KubeError
from parity.kube.credentials import (
    ClusterAccess,
    CredentialsError,
    ExecPlugin,
    kubeconfig_access,
    load_access,
    run_exec_plugin,
    service_account_access,
)

PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def write(path: Path, doc) -> Path:
    path.write_text(yaml.safe_dump(doc) if not isinstance(doc, str) else doc)
    return path


def config(*, context="a", contexts=(("a", "c1", "u1"),), clusters=(("c1", {"server": "https://one:6443"}),),
           users=(("u1", {"token": "t1"}),)):
    doc = {"apiVersion": "v1", "kind": "Config",
           "contexts": [{"name": n, "context": {"cluster": c, "user": u}} for n, c, u in contexts],
           "clusters": [{"name": n, "cluster": body} for n, body in clusters],
           "users": [{"name": n, "user": body} for n, body in users]}
    if context:
        doc["current-context"] = context
    return doc


# -- kubeconfig -------------------------------------------------------------------------------

def test_merged_files_first_name_and_first_current_context_win(tmp_path):
    first = write(tmp_path / "a.yaml", config(context="a", clusters=(("c1", {"server": "https://one:6443/"}),)))
    second = write(tmp_path / "b.yaml", config(
        context="b", contexts=(("a", "c2", "u2"), ("b", "c2", "u2")),
        clusters=(("c1", {"server": "https://ignored"}), ("c2", {"server": "https://two"})),
        users=(("u2", {"token": "t2"}),)))
    access = kubeconfig_access([first, second])
    assert (access.server, access.token) == ("https://one:6443", "t1")
    other = kubeconfig_access([first, second], context="b")
    assert (other.server, other.token) == ("https://two", "t2")
    assert "context b" in other.source


def test_files_are_relative_to_the_kubeconfig_and_data_is_base64(tmp_path):
    (tmp_path / "pki").mkdir()
    (tmp_path / "pki" / "ca.crt").write_text(PEM)
    path = write(tmp_path / "config", config(
        clusters=(("c1", {"server": "https://one", "certificate-authority": "pki/ca.crt"}),),
        users=(("u1", {"client-certificate-data": b64(PEM), "client-key-data": b64(PEM.replace("CERTIFICATE",
                                                                                              "PRIVATE KEY")),
                       "tokenFile": "pki/token"}),)))
    access = kubeconfig_access([path])
    assert access.ca_pem == PEM and access.client_cert_pem == PEM
    assert "PRIVATE KEY" in access.client_key_pem
    assert access.token_file == str(tmp_path / "pki" / "token")


@pytest.mark.parametrize("doc, words", [
    (config(context="nope"), "context 'nope' not found (contexts: a)"),
    (config(context=None), "current-context is not set"),
    (config(contexts=(("a", "ghost", "u1"),)), "names cluster 'ghost'"),
    (config(clusters=(("c1", {}),)), "clusters[c1].cluster.server is not set"),
    (config(clusters=(("c1", {"server": "https://x", "certificate-authority-data": "%%%"}),)),
     "clusters[c1].cluster.certificate-authority-data is not base64"),
    (config(clusters=(("c1", {"server": "https://x", "certificate-authority": "missing.crt"}),)),
     "certificate-authority: "),
    (config(users=(("u1", {"auth-provider": {"name": "gcp"}}),)), "users[u1].user.auth-provider (gcp)"),
    (config(users=(("u1", {"exec": {"args": ["x"]}}),)), "users[u1].user.exec.command is not set"),
    ("clusters: [unclosed", "not YAML"),
    ("- a list", "not a kubeconfig"),
    ({"contexts": {"a": 1}}, "contexts must be a list"),
])
def test_each_refusal_names_the_file_and_the_field(tmp_path, doc, words):
    path = write(tmp_path / "config", doc)
    with pytest.raises(CredentialsError) as err:
        kubeconfig_access([path])
    assert words in str(err.value) and str(path) in str(err.value)


def test_no_kubeconfig_anywhere_says_where_it_looked(tmp_path):
    with pytest.raises(CredentialsError, match=f"no kubeconfig at {tmp_path}/none"):
        kubeconfig_access([tmp_path / "none"])


def test_kubeconfig_env_wins_over_the_service_account(tmp_path, monkeypatch):
    path = write(tmp_path / "config", config())
    monkeypatch.setenv("KUBECONFIG", f"{tmp_path / 'missing'}{os.pathsep}{path}")
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    assert load_access().server == "https://one:6443"


def test_service_account(tmp_path):
    (tmp_path / "token").write_text("sa-token\n")
    (tmp_path / "ca.crt").write_text(PEM)
    (tmp_path / "namespace").write_text("parity-system")
    access = service_account_access(tmp_path, {"KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "443"})
    assert access.server == "https://[fd00::1]:443"
    assert (access.ca_pem, access.token_file, access.namespace) == (PEM, str(tmp_path / "token"), "parity-system")


# -- exec plugins -----------------------------------------------------------------------------

def plugin(tmp_path: Path, body: str, *, env=()) -> ExecPlugin:
    script = tmp_path / "plugin.py"
    script.write_text(body)
    return ExecPlugin(command=sys.executable, args=(str(script),), env=tuple(env), source="kubeconfig k: users[u].user.exec")


def credential_script(expires: str | None = None, counter: Path | None = None) -> str:
    return f"""
import json, os
info = json.loads(os.environ["KUBERNETES_EXEC_INFO"])
assert info["spec"]["interactive"] is False
n = 0
if {str(counter)!r} != "None":
    p = {str(counter)!r}
    n = int(open(p).read()) + 1 if os.path.exists(p) else 1
    open(p, "w").write(str(n))
status = {{"token": os.environ.get("PREFIX", "tok") + str(n)}}
if {expires!r}:
    status["expirationTimestamp"] = {expires!r}
print(json.dumps({{"apiVersion": info["apiVersion"], "kind": "ExecCredential", "status": status}}))
"""


def test_an_exec_plugin_is_run_with_its_env_and_its_answer_read(tmp_path):
    cred = run_exec_plugin(plugin(tmp_path, credential_script("2030-01-01T00:00:00Z"), env=[("PREFIX", "abc")]))
    assert cred.token == "abc0" and cred.expires == dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize("body, words", [
    ("import sys; sys.stderr.write('login first\\n'); sys.exit(3)", "exited 3: login first"),
    ("print('hello')", "did not print an ExecCredential"),
    ("print('{\"status\": {}}')", "neither status.token"),
    ("print('{\"status\": {\"token\": \"t\", \"expirationTimestamp\": \"soon\"}}')", "is not RFC 3339"),
])
def test_a_failing_exec_plugin_is_named(tmp_path, body, words):
    with pytest.raises(CredentialsError) as err:
        run_exec_plugin(plugin(tmp_path, body))
    assert words in str(err.value) and "users[u].user.exec" in str(err.value)


def test_a_missing_exec_command_is_named(tmp_path):
    with pytest.raises(CredentialsError, match="command 'no-such-plugin' not found"):
        run_exec_plugin(ExecPlugin(command="no-such-plugin", source="x"))


# -- the client against a stand-in API server --------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    seen: list = []

    def log_message(self, *args):
        pass

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        Handler.seen.append((self.command, self.path, self.headers.get("Authorization"),
                             self.headers.get("Content-Type"), body))
        if "missing" in self.path:
            data, code = {"kind": "Status", "reason": "NotFound", "message": 'things "missing" not found'}, 404
        else:
            data, code = {"kind": "Thing", "path": self.path}, 200
        raw = json.dumps(data).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    do_GET = do_PATCH = do_POST = _answer


@pytest.fixture
def server():
    Handler.seen = []
    with http_server(Handler) as url:
        yield url


def test_requests_carry_path_prefix_query_body_and_token(server):
    kube = Kube(ClusterAccess(server=server + "/k8s/clusters/c-1", token="t0"))
    answer = kube.request("PATCH", "/api/v1/namespaces/a/configmaps/b", query=[("fieldManager", "parity"),
                                                                                ("force", "true")],
                          body={"data": {"k": "v"}}, content_type="application/apply-patch+yaml")
    kube.close()
    method, path, auth, content_type, body = Handler.seen[0]
    assert (method, auth, content_type) == ("PATCH", "Bearer t0", "application/apply-patch+yaml")
    assert path == "/k8s/clusters/c-1/api/v1/namespaces/a/configmaps/b?fieldManager=parity&force=true"
    assert json.loads(body) == {"data": {"k": "v"}} and answer["kind"] == "Thing"


def test_an_api_refusal_is_a_kube_error_with_the_api_message(server):
    kube = Kube(ClusterAccess(server=server, username="u", password="p"))
    assert kube.get("/api/v1/things/missing") is None
    with pytest.raises(KubeError) as err:
        kube.request("GET", "/api/v1/things/missing")
    assert err.value.status == 404 and 'things "missing" not found' in str(err.value)
    assert Handler.seen[0][2] == "Basic " + b64("u:p")


def test_a_token_file_is_read_again_after_its_recheck_period(server, tmp_path, monkeypatch):
    token = tmp_path / "token"
    token.write_text("first\n")
    kube = Kube(ClusterAccess(server=server, token_file=str(token)))
    kube.request("GET", "/a")
    token.write_text("second\n")
    kube.request("GET", "/b")  # within the period: the token read before
    monkeypatch.setattr(kube_client, "TOKEN_FILE_RECHECK_SECONDS", 0)
    kube.request("GET", "/c")
    assert [s[2] for s in Handler.seen] == ["Bearer first", "Bearer first", "Bearer second"]


def test_an_expired_exec_credential_is_renewed_before_a_request(server, tmp_path):
    counter = tmp_path / "runs"
    past = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)).isoformat()
    kube = Kube(ClusterAccess(server=server, exec_plugin=plugin(tmp_path, credential_script(past, counter))))
    kube.request("GET", "/a")
    kube.request("GET", "/b")
    # One run at connect, one before each request (each answer has already expired).
    assert [s[2] for s in Handler.seen] == ["Bearer tok2", "Bearer tok3"]


def test_a_lasting_exec_credential_runs_once(server, tmp_path):
    counter = tmp_path / "runs"
    kube = Kube(ClusterAccess(server=server, exec_plugin=plugin(tmp_path, credential_script(None, counter))))
    kube.request("GET", "/a")
    kube.request("GET", "/b")
    assert [s[2] for s in Handler.seen] == ["Bearer tok1", "Bearer tok1"]


def test_connect_turns_a_bad_kubeconfig_into_one_kube_error(tmp_path):
    path = write(tmp_path / "config", config(context="nope"))
    with pytest.raises(KubeError) as err:
        Kube.connect(str(path))
    assert err.value.reason == "NoConfig" and "context 'nope' not found" in str(err.value)


# -- kopf's login ---------------------------------------------------------------------------

def test_kopf_logs_in_with_the_same_credentials(tmp_path, monkeypatch):
    (tmp_path / "token").write_text("from-file\n")
    path = write(tmp_path / "config", config(
        clusters=(("c1", {"server": "https://one", "certificate-authority-data": b64(PEM)}),),
        users=(("u1", {"tokenFile": "token"}),)))
    monkeypatch.setenv("KUBECONFIG", str(path))
    info = login()
    assert (info.server, info.token, info.ca_data) == ("https://one", "from-file", PEM)


def test_kopf_login_refuses_what_its_watches_cannot_do(tmp_path, monkeypatch):
    path = write(tmp_path / "config", config(
        clusters=(("c1", {"server": "https://one", "tls-server-name": "api.internal"}),)))
    monkeypatch.setenv("KUBECONFIG", str(path))
    with pytest.raises(kopf.LoginError, match="tls-server-name"):
        login()
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))
    with pytest.raises(kopf.LoginError, match="no kubeconfig at"):
        login()


def test_a_renewed_exec_client_certificate_replaces_the_connection_pool(tmp_path, monkeypatch):
    """A plugin answering with a client certificate (it expires with the credential): after
    renewal, requests go through a pool whose TLS context presents the new certificate."""
    import ssl as ssl_module

    counter = tmp_path / "runs"
    past = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)).isoformat()
    script = f"""
import json, os
p = {str(counter)!r}
n = int(open(p).read()) + 1 if os.path.exists(p) else 1
open(p, "w").write(str(n))
status = {{"clientCertificateData": f"CERT{{n}}", "clientKeyData": f"KEY{{n}}", "expirationTimestamp": {past!r}}}
print(json.dumps({{"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential", "status": status}}))
"""
    contexts = []

    def recording_context(access, cert, key):
        contexts.append((cert, key))
        return ssl_module.create_default_context()

    monkeypatch.setattr(kube_client, "ssl_context", recording_context)
    kube = Kube(ClusterAccess(server="https://api.example:6443", exec_plugin=plugin(tmp_path, script)))
    first = kube._pool
    assert kube._auth_headers() == {}  # renewed (already expired): certificate 2
    assert contexts == [("CERT1", "KEY1"), ("CERT2", "KEY2")] and kube._pool is not first
    same = kube._pool
    monkeypatch.setattr(kube_client, "run_exec_plugin", lambda _plugin: kube._exec)  # the same answer again
    kube._auth_headers()
    assert kube._pool is same and len(contexts) == 2  # an unchanged certificate keeps the pool
