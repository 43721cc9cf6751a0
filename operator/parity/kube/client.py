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
        try:
            response = self.api.call_api(
                path, method, query_params=query or [], header_params=headers, body=body,
                auth_settings=["BearerToken"], _preload_content=False, _request_timeout=REQUEST_TIMEOUT,
                _return_http_data_only=True,
            )
        except ApiException as err:
            raise _error(err) from None
        except OSError as err:  # urllib3 wraps connection errors in OSError subclasses
            raise KubeError(0, "Unreachable", f"cannot reach the Kubernetes API at {self.host}: {err}") from None
        except Exception as err:  # urllib3.exceptions.MaxRetryError and friends
            if err.__class__.__module__.startswith("urllib3"):
                raise KubeError(0, "Unreachable", f"cannot reach the Kubernetes API at {self.host}: {err}") from None
            raise
        data = response.data
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


def _error(err: ApiException) -> KubeError:
    message = err.reason or ""
    reason = ""
    try:
        payload = json.loads(err.body or "{}")
        message = payload.get("message", message)
        reason = payload.get("reason", "")
    except ValueError:
        pass
    return KubeError(err.status or 0, reason, f"{err.status} {reason}: {message}".strip())
