"""parity.instance: the liveness endpoint's identity and the checks a dev loop runs on it."""

from __future__ import annotations

import http.server
import json
import socket
import threading

import pytest

from parity import instance
from parity.cli.main import main as parity_main


def test_identity_reports_pid_and_token():
    assert instance.identity({instance.TOKEN_ENV: "abc"}, pid=42) == {"pid": 42, "token": "abc"}
    assert instance.identity({}, pid=7) == {"pid": 7, "token": None}


@pytest.mark.parametrize("body, token, expected", [
    (b'{"instance": {"pid": 1, "token": "abc"}}', "abc", True),
    (b'{"instance": {"pid": 1, "token": "xyz"}}', "abc", False),   # another operator's token
    (b'{"instance": {"pid": 1, "token": null}}', "", False),       # no token asked: never "ours"
    (b'{}', "abc", False),                                         # an older operator: no identity
    (b"ok", "abc", False),                                         # not kopf at all
    (b"[]", "abc", False),
])
def test_answered_by(body, token, expected):
    assert instance.answered_by(body, token) is expected


class _Server:
    """A tiny HTTP server answering every GET with a fixed body."""

    def __init__(self, body: bytes):
        handler_body = body

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                self.send_response(200)
                self.end_headers()
                self.wfile.write(handler_body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_probe_tells_this_operator_from_another_on_the_same_port():
    server = _Server(json.dumps({"instance": {"pid": 1, "token": "mine"}}).encode())
    try:
        url = f"http://127.0.0.1:{server.port}/healthz"
        assert instance.probe(url, "mine")[0] is True
        ok, why = instance.probe(url, "other")
        assert ok is False and "another process" in why
        assert instance.main([url, "mine"]) == 0
        assert instance.main([url, "other"]) == 1
    finally:
        server.close()
    ok, why = instance.probe(url, "mine")
    assert ok is False and "no answer" in why


def test_port_taken_and_the_one_line_message():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        assert instance.port_taken("127.0.0.1", port) is True
        ports = instance.planned_ports(f"http://127.0.0.1:{port}/healthz", 0)
        assert ports == [("liveness (--liveness)", "127.0.0.1", port)]  # metrics port 0: nothing to check
        message = instance.taken_ports_message(ports)
        assert message and f"port {port} (liveness (--liveness))" in message and "\n" not in message
    assert instance.port_taken("127.0.0.1", port) is False
    assert instance.taken_ports_message(ports) is None


def test_parity_run_refuses_a_taken_port_before_starting(monkeypatch, capsys):
    with socket.socket() as holder:
        holder.bind(("0.0.0.0", 0))
        holder.listen()
        port = holder.getsockname()[1]
        monkeypatch.setenv("PARITY_METRICS_PORT", str(port))
        code = parity_main(["run", "--liveness", ""])
    err = capsys.readouterr().err
    assert code == 1
    assert f"port {port} (metrics (PARITY_METRICS_PORT)) already in use" in err
    assert "Traceback" not in err
