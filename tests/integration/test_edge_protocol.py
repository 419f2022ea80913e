"""The edge's HTTP protocol over real sockets: answers given as the headers are parsed keep HTTP/1.1 intact."""
from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from pupns_dev.processes import free_port, stop, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
AWAY = (503, [(b"content-type", b"text/plain"), (b"content-length", b"4"), (b"retry-after", b"1")], b"away")
# uvicorn in a process of its own: the integration tests' eventlet would turn a thread of it into a greenlet.
SERVE = ("import sys, uvicorn; from edge.http.protocol import EdgeProtocol; "
         "from tests.integration.test_edge_protocol import App; "
         "uvicorn.run(App(), host='127.0.0.1', port=int(sys.argv[1]), http=EdgeProtocol, lifespan='off', "
         "log_level='warning', access_log=False, proxy_headers=False)")


class App:
    """Turns away paths under /away at once. The app's own answers say which path they saw (`app:/path`); /slow
    takes 0.2 s, so that a call pipelined behind it arrives while it is in progress."""

    def answer_at_once(self, method, path, headers):
        return AWAY if path.startswith("/away") else None

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return
        if scope["path"] == "/slow":
            await asyncio.sleep(0.2)
        body = f"app:{scope['path']}".encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


@pytest.fixture(scope="module")
def port(tmp_path_factory):
    port = free_port()
    log = open(tmp_path_factory.mktemp("uvicorn") / "uvicorn.log", "wb")
    proc = subprocess.Popen([sys.executable, "-c", SERVE, str(port)], cwd=ROOT, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    wait_for_port(port, proc)
    yield port
    stop(proc)


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.settimeout(5)
    return sock


def read_answers(sock: socket.socket, count: int) -> list[tuple[int, dict, bytes]]:
    """`count` whole responses (status, headers, body), read by their Content-Length."""
    buf, answers = b"", []
    while len(answers) < count:
        end = buf.find(b"\r\n\r\n")
        if end >= 0:
            lines = buf[:end].decode().split("\r\n")
            headers = dict(line.lower().split(": ", 1) for line in lines[1:])
            length = int(headers.get("content-length", 0))
            if len(buf) >= end + 4 + length:
                answers.append((int(lines[0].split()[1]), headers, buf[end + 4:end + 4 + length]))
                buf = buf[end + 4 + length:]
                continue
        chunk = sock.recv(65536)
        assert chunk, f"connection closed after {len(answers)} answers"
        buf += chunk
    return answers


def closed(sock: socket.socket) -> bool:
    return sock.recv(1) == b""


def test_a_turn_away_is_one_answer_on_a_connection_kept_alive(port):
    with connect(port) as sock:
        sock.sendall(b"GET /away/1 HTTP/1.1\r\nHost: x\r\n\r\n")
        first = sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 503 Service Unavailable\r\n") and first.endswith(b"\r\n\r\naway")
        assert b"\r\ndate: " in first and b"\r\nretry-after: 1\r\n" in first
        sock.sendall(b"GET /fine HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_answers(sock, 1)[0][::2] == (200, b"app:/fine")


def test_the_body_of_a_turned_away_call_is_read_and_dropped(port):
    body = b"x" * 5000
    with connect(port) as sock:
        sock.sendall(b"POST /away HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n" + body[:100])
        assert read_answers(sock, 1)[0][::2] == (503, b"away")
        sock.sendall(body[100:] + b"GET /fine HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_answers(sock, 1)[0][::2] == (200, b"app:/fine")


def test_a_call_pipelined_behind_one_in_progress_is_answered_after_it(port):
    with connect(port) as sock:
        sock.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /away/2 HTTP/1.1\r\nHost: x\r\n\r\n")
        answers = read_answers(sock, 2)
    # The second went the app's way, after the first: answers keep their order.
    assert [(status, body) for status, _, body in answers] == [(200, b"app:/slow"), (200, b"app:/away/2")]


def test_a_client_that_does_not_keep_alive_is_answered_and_closed(port):
    for request in (b"GET /away HTTP/1.0\r\n\r\n", b"GET /away HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"):
        with connect(port) as sock:
            sock.sendall(request)
            status, headers, body = read_answers(sock, 1)[0]
            assert (status, headers["connection"], body) == (503, "close", b"away") and closed(sock)


def test_head_and_expect_continue_go_the_app_way(port):
    with connect(port) as sock:
        sock.sendall(b"HEAD /away/head HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
        sock.sendall(b"POST /away/x HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\nhi")
        assert read_answers(sock, 1)[0][::2] == (200, b"app:/away/x")
