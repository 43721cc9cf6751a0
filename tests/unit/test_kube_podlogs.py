"""kube/podlogs.py against a small HTTP server standing in for the API server's pod log endpoint:
the query it sends, lines split across chunks, the API's error message, a broken stream."""

import json
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qsl, urlsplit

import pytest
from support import http_server

from parity.kube.client import Kube, KubeError
from parity.kube.credentials import ClusterAccess
from parity.kube.podlogs import LogRequest, stream_pod_log


class Handler(BaseHTTPRequestHandler):
    requests: list = []

    def log_message(self, *args):  # keep pytest output clean
        pass

    def do_GET(self):
        url = urlsplit(self.path)
        Handler.requests.append((url.path, dict(parse_qsl(url.query)), self.headers.get("Accept")))
        if url.path.endswith("/pods/missing/log"):
            body = json.dumps({"kind": "Status", "status": "Failure", "reason": "BadRequest", "code": 400,
                               "message": 'container "redis" in pod "missing" is waiting to start: '
                                          "ContainerCreating"}).encode()
            self.send_response(400)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        # A line split over two chunks, a multi-byte character split too, no final newline.
        for chunk in (b"2026-12-03T01:02:03.000000001Z first li", b"ne\n2026-12-03T01:02:04Z caf\xc3",
                      b"\xa9\n2026-12-03T01:02:05Z last"):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.flush()
        if url.path.endswith("/pods/broken/log"):
            self.connection.close()  # ends mid-stream, without the terminating chunk
            return
        self.wfile.write(b"0\r\n\r\n")


@pytest.fixture
def kube():
    Handler.requests = []
    with http_server(Handler) as url:
        client = Kube(ClusterAccess(server=url))
        yield client
        client.close()


def test_lines_and_query(kube):
    request = LogRequest(follow=True, previous=True, since_seconds=600, tail_lines=20)
    lines = list(stream_pod_log(kube, "team", "dev-redis-0", "redis", request))
    assert lines == ["2026-12-03T01:02:03.000000001Z first line", "2026-12-03T01:02:04Z café",
                     "2026-12-03T01:02:05Z last"]
    path, query, accept = Handler.requests[0]
    assert path == "/api/v1/namespaces/team/pods/dev-redis-0/log"
    assert query == {"container": "redis", "timestamps": "true", "follow": "true", "previous": "true",
                     "sinceSeconds": "600", "tailLines": "20"}
    assert accept == "application/json, */*"  # what kubectl sends; the API server refuses text/plain alone


def test_since_time_wins_over_since_seconds(kube):
    list(stream_pod_log(kube, "team", "p", "c", LogRequest(since_seconds=60, since_time="2026-12-03T01:02:03Z")))
    query = Handler.requests[0][1]
    assert query["sinceTime"] == "2026-12-03T01:02:03Z" and "sinceSeconds" not in query and "follow" not in query


def test_the_api_error_message_is_kept(kube):
    with pytest.raises(KubeError) as caught:
        list(stream_pod_log(kube, "team", "missing", "redis", LogRequest()))
    assert caught.value.status == 400
    assert 'container "redis" in pod "missing" is waiting to start' in str(caught.value)


def test_a_broken_stream_is_a_kube_error_after_the_lines_it_had(kube):
    seen = []
    with pytest.raises(KubeError, match="broke off"):
        for line in stream_pod_log(kube, "team", "broken", "redis", LogRequest(follow=True)):
            seen.append(line)
    assert seen[:2] == ["2026-12-03T01:02:03.000000001Z first line", "2026-12-03T01:02:04Z café"]


def test_unreachable_names_the_endpoint():
    client = Kube(ClusterAccess(server="http://127.0.0.1:1"))
    with pytest.raises(KubeError, match="cannot reach the Kubernetes API at http://127.0.0.1:1"):
        list(stream_pod_log(client, "team", "p", "c", LogRequest()))
