"""Reading a container's log through the pod log API (GET .../pods/NAME/log), line by line.

Streams the response instead of loading it (a followed log never ends), on the same
credentials and connection pool as kube/client.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from parity.kube.client import Kube, KubeError

CHUNK = 64 * 1024


@dataclass(frozen=True)
class LogRequest:
    follow: bool = False
    previous: bool = False
    since_seconds: int | None = None
    since_time: str | None = None  # RFC 3339, for a stream that picks up where another ended
    tail_lines: int | None = None

    def query(self, container: str) -> list[tuple[str, str]]:
        query = [("container", container), ("timestamps", "true")]
        if self.follow:
            query.append(("follow", "true"))
        if self.previous:
            query.append(("previous", "true"))
        if self.since_time is not None:
            query.append(("sinceTime", self.since_time))
        elif self.since_seconds is not None:
            query.append(("sinceSeconds", str(self.since_seconds)))
        if self.tail_lines is not None:
            query.append(("tailLines", str(self.tail_lines)))
        return query


def stream_pod_log(kube: Kube, namespace: str, pod: str, container: str, request: LogRequest, *,
                   read_timeout: float | None = 60) -> Iterator[str]:
    """The lines of one container's log (without line ends). KubeError when it cannot be read
    (the API's message, e.g. `container "x" in pod "y" is waiting to start`)."""
    path = f"/api/v1/namespaces/{namespace}/pods/{pod}/log"
    # The log subresource answers text/plain, but the API server negotiates it only under a
    # wildcard (what kubectl sends); "text/plain" alone is refused with 406.
    raw = kube.open_stream(path, request.query(container), accept="application/json, */*",
                           read_timeout=None if request.follow else read_timeout)
    try:
        pending = b""
        try:
            for chunk in raw.stream(CHUNK, decode_content=True):
                pending += chunk
                *complete, pending = pending.split(b"\n")
                for line in complete:
                    yield line.decode("utf-8", errors="replace")
        except Exception as err:  # urllib3 read errors: the stream broke off (node gone, timeout)
            if isinstance(err, OSError) or err.__class__.__module__.startswith("urllib3"):
                raise KubeError(0, "StreamBroken", f"reading the log broke off: {err}") from None
            raise
        if pending:
            yield pending.decode("utf-8", errors="replace")
    finally:
        raw.release_conn()
