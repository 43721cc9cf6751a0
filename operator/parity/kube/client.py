"""A thin blocking JSON client for the Kubernetes API, on urllib3's connection pool.

Why not the official `kubernetes` package: every request here is a path, a verb and a JSON
body (server-side apply included), which needs none of its 800 generated models, and importing
it cost the operator 9 MiB of RSS (kopf imports it too when it is installed; `import parity.handlers` 86.5 -> 77.5 MiB). Credentials come
from kube/credentials.py, which kopf's watches share. It is blocking, so it is only called from
sync kopf handlers (run in kopf's thread pool) and from the CLI, never inside `async def`.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import ssl
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import urllib3

from parity.kube.credentials import ClusterAccess, CredentialsError, ExecCredential, load_access, run_exec_plugin

REQUEST_TIMEOUT = (5, 15)  # (connect, read) seconds
# Sync threads (PARITY_MAX_WORKERS) and the CLI's parallel readers share one pool.
POOL_SIZE = 16
# A token file is re-read at most this often (kubelet rotates projected tokens well before expiry).
TOKEN_FILE_RECHECK_SECONDS = 30
# An exec credential is renewed this long before it expires.
EXEC_RENEW_MARGIN = dt.timedelta(seconds=30)


class KubeError(RuntimeError):
    def __init__(self, status: int, reason: str, message: str):
        self.status = status
        self.reason = reason
        super().__init__(message)


def ssl_context(access: ClusterAccess, cert_pem: str | None, key_pem: str | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cadata=access.ca_pem) if access.ca_pem else ssl.create_default_context()
    if access.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if cert_pem and key_pem:
        # The ssl module loads a key pair only from files: a private directory, gone right after.
        with tempfile.TemporaryDirectory(prefix="parity-tls-") as tmp:
            cert, key = Path(tmp) / "tls.crt", Path(tmp) / "tls.key"
            for path, text in ((cert, cert_pem), (key, key_pem)):
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w") as out:
                    out.write(text)
            context.load_cert_chain(certfile=str(cert), keyfile=str(key))
    return context


class Kube:
    def __init__(self, access: ClusterAccess, *, pool_size: int = POOL_SIZE):
        self.access = access
        self._lock = threading.Lock()
        self._exec: ExecCredential | None = None
        self._token_file_read: tuple[float, str | None] = (0.0, None)
        self._pool_size = pool_size
        if access.exec_plugin is not None:
            self._exec = run_exec_plugin(access.exec_plugin)
        url = urlsplit(access.server)
        if url.scheme not in ("http", "https"):
            raise CredentialsError(f"{access.source}: server {access.server!r} is not an http(s) URL")
        self._prefix = url.path.rstrip("/")
        self._pool = self._new_pool(self._exec)

    def _new_pool(self, cred: ExecCredential | None) -> urllib3.HTTPConnectionPool:
        """The connection pool, with the client certificate of `cred` (an exec plugin's answer)
        where it gives one, else the kubeconfig's."""
        access = self.access
        cert, key = access.client_cert_pem, access.client_key_pem
        if cred is not None:
            cert, key = cred.client_cert_pem or cert, cred.client_key_pem or key
        url = urlsplit(access.server)
        kwargs: dict[str, Any] = {"maxsize": self._pool_size, "block": False, "retries": False}
        if url.scheme == "https":
            kwargs["ssl_context"] = ssl_context(access, cert, key)
            if access.tls_server_name:
                kwargs["server_hostname"] = access.tls_server_name
        return urllib3.connectionpool.connection_from_url(f"{url.scheme}://{url.netloc}", **kwargs)

    @classmethod
    def connect(cls, kubeconfig: str | None = None, context: str | None = None) -> "Kube":
        try:
            return cls(load_access(kubeconfig, context))
        except (CredentialsError, ssl.SSLError) as err:
            raise KubeError(0, "NoConfig", f"cannot load Kubernetes credentials: {err}") from None

    @property
    def host(self) -> str:
        return self.access.server

    def close(self) -> None:
        self._pool.close()

    # -- requests ----------------------------------------------------------------------------
    def request(self, method: str, path: str, *, body: Any = None, query: list[tuple[str, str]] | None = None,
                content_type: str = "application/json") -> dict:
        headers = {"Accept": "application/json", "Content-Type": content_type}
        if body is not None and not isinstance(body, (bytes, str)):
            # JSON for every content type we send: apply-patch+yaml accepts it too.
            body = json.dumps(body)
        response = self._send(method, path, query, headers, body, preload=True, read_timeout=REQUEST_TIMEOUT[1])
        data = response.data
        if not 200 <= response.status < 300:
            raise _error(response.status, response.reason, data)
        return json.loads(data) if data else {}

    def get(self, path: str) -> dict | None:
        try:
            return self.request("GET", path)
        except KubeError as err:
            if err.status == 404:
                return None
            raise

    def open_stream(self, path: str, query: list[tuple[str, str]], *, accept: str,
                    read_timeout: float | None) -> urllib3.BaseHTTPResponse:
        """A GET whose body is read by the caller (`.stream()`, then `.release_conn()`): pod logs.
        KubeError for a refusal, with the API's message."""
        response = self._send("GET", path, query, {"Accept": accept}, None, preload=False, read_timeout=read_timeout)
        if not 200 <= response.status < 300:
            try:
                raise _error(response.status, response.reason, response.read())
            finally:
                response.release_conn()
        return response

    def _send(self, method: str, path: str, query, headers: dict, body, *, preload: bool,
              read_timeout: float | None) -> urllib3.BaseHTTPResponse:
        url = self._prefix + path + (f"?{urlencode(query)}" if query else "")
        headers.update(self._auth_headers())  # first: renewing an exec credential may replace the pool
        try:
            return self._pool.urlopen(method, url, body=body, headers=headers, retries=False, redirect=False,
                                      preload_content=preload, assert_same_host=False,
                                      timeout=urllib3.Timeout(connect=REQUEST_TIMEOUT[0], read=read_timeout))
        except (urllib3.exceptions.HTTPError, OSError) as err:
            raise KubeError(0, "Unreachable", f"cannot reach the Kubernetes API at {self.host}: {err}") from None

    def _auth_headers(self) -> dict[str, str]:
        access = self.access
        token = access.token
        if access.token_file:
            token = self._file_token() or token
        if access.exec_plugin is not None:
            token = self._exec_token() or token
        if token:
            return {"Authorization": f"Bearer {token}"}
        if access.username and access.password:
            pair = base64.b64encode(f"{access.username}:{access.password}".encode()).decode()
            return {"Authorization": f"Basic {pair}"}
        return {}

    def _file_token(self) -> str | None:
        read_at, token = self._token_file_read
        now = time.monotonic()
        if token is not None and now - read_at < TOKEN_FILE_RECHECK_SECONDS:
            return token
        try:
            token = Path(self.access.token_file).read_text().strip() or None
        except OSError as err:
            if token is None:
                raise KubeError(0, "NoConfig", f"cannot read the token file {self.access.token_file}: "
                                f"{err.strerror}") from None
        self._token_file_read = (now, token)
        return token

    def _exec_token(self) -> str | None:
        with self._lock:
            cred = self._exec
            if cred is not None and cred.expires is not None and \
                    cred.expires - EXEC_RENEW_MARGIN <= dt.datetime.now(dt.timezone.utc):
                try:
                    renewed = run_exec_plugin(self.access.exec_plugin)
                    if (renewed.client_cert_pem, renewed.client_key_pem) != (cred.client_cert_pem, cred.client_key_pem):
                        # A plugin that answers with a client certificate renews that too (it
                        # expires with the credential): later requests use a pool that presents it.
                        # The old pool is dropped, not closed: another thread may be in a request
                        # on it, which closing would fail; its sockets close when it is collected.
                        self._pool = self._new_pool(renewed)
                except (CredentialsError, ssl.SSLError) as err:
                    raise KubeError(0, "NoConfig", f"renewing Kubernetes credentials: {err}") from None
                cred = self._exec = renewed
            return cred.token if cred is not None else None


def _error(status: int | None, http_reason: str | None, body: bytes | str | None) -> KubeError:
    message = http_reason or ""
    reason = ""
    try:
        payload = json.loads(body or "{}")
        message = payload.get("message", message)
        reason = payload.get("reason", "")
    except (ValueError, TypeError, AttributeError):
        pass
    return KubeError(status or 0, reason, f"{status} {reason}: {message}".strip())
