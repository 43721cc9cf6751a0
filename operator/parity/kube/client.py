"""A thin JSON client over the official kubernetes package.

Why the official client: it reads kubeconfig and in-cluster credentials the same way kubectl
does, its ApiClient speaks any path and content type (server-side apply needs
application/apply-patch+yaml, which the typed APIs do not expose for every kind), and kopf
already depends on the same credentials. It is blocking, so it is only called from sync kopf
handlers (run in kopf's thread pool) and from the CLI, never inside `async def`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import kubernetes
from kubernetes.client.rest import ApiException

REQUEST_TIMEOUT = (5, 15)  # (connect, read) seconds


class KubeError(RuntimeError):
    def __init__(self, status: int, reason: str, message: str):
        self.status = status
        self.reason = reason
        super().__init__(message)


@dataclass
class Kube:
    api: kubernetes.client.ApiClient

    @classmethod
    def connect(cls, kubeconfig: str | None = None, context: str | None = None) -> "Kube":
        configuration = kubernetes.client.Configuration()
        try:
            if kubeconfig is None and _in_cluster():
                kubernetes.config.load_incluster_config(client_configuration=configuration)
            else:
                kubernetes.config.load_kube_config(config_file=kubeconfig, context=context,
                                                   client_configuration=configuration)
        except (kubernetes.config.ConfigException, OSError) as err:
            raise KubeError(0, "NoConfig", f"cannot load Kubernetes credentials: {err}") from None
        return cls(kubernetes.client.ApiClient(configuration))

    @property
    def host(self) -> str:
        return self.api.configuration.host

    def close(self) -> None:
        self.api.close()

    def request(self, method: str, path: str, *, body: Any = None, query: list[tuple[str, str]] | None = None,
                content_type: str = "application/json") -> dict:
        headers = {"Accept": "application/json", "Content-Type": content_type}
        _, url, headers, _, _ = self.api.param_serialize(
            method, path, query_params=query or [], header_params=headers, auth_settings=["BearerToken"])
        # The REST layer JSON-encodes dict bodies for json and apply-patch+yaml content types alike.
        try:
            response = self.api.call_api(method, url, header_params=headers, body=body,
                                         _request_timeout=REQUEST_TIMEOUT)
        except ApiException as err:
            raise _error(err.status, err.reason, err.body) from None
        except Exception as err:  # urllib3 connection errors: the endpoint is what the user needs
            if isinstance(err, OSError) or err.__class__.__module__.startswith("urllib3"):
                raise KubeError(0, "Unreachable", f"cannot reach the Kubernetes API at {self.host}: {err}") from None
            raise
        data = response.read()
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


def _in_cluster() -> bool:
    import os

    return bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and os.path.exists(
        "/var/run/secrets/kubernetes.io/serviceaccount/token")


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
