"""Bodies at and past MAX_CONTENT_LENGTH, with and without Content-Length and chunked, under the servers users
run: each gets its answer on a kept-alive connection, none hangs."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.loopback import free_port, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 200_000
LINE = b"TID008,VAWT,64,80,46.0,21,55,55,7,34,NE\n"


def body_of(size: int) -> bytes:
    """Readings padded with blank lines (which are skipped) to exactly `size` bytes."""
    lines = LINE * 100
    return lines + b"\n" * (size - len(lines))


def exchange(port: int, head: bytes, body: bytes, seconds: float = 10) -> int:
    """Send one request on a kept-alive connection; the status of its answer. socket.timeout if none comes."""
    with socket.create_connection(("127.0.0.1", port), timeout=seconds) as connection:
        connection.sendall(head + body)
        answer = b""
        while b"\r\n" not in answer:
            chunk = connection.recv(4096)
            assert chunk, "the server closed the connection without an answer"
            answer += chunk
    return int(answer.split(b" ", 2)[1])


def with_length(body: bytes) -> bytes:
    return (
        b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/csv\r\nConnection: keep-alive\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
    )


def chunked(body: bytes) -> tuple[bytes, bytes]:
    head = (
        b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/csv\r\nConnection: keep-alive\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    pieces = [body[i : i + 65536] for i in range(0, len(body), 65536)]
    encoded = b"".join(f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in pieces) + b"0\r\n\r\n"
    return head, encoded


@pytest.fixture(params=["flask run", "gunicorn"], scope="module")
def port(request: pytest.FixtureRequest) -> Iterator[int]:
    port = free_port()
    if request.param == "flask run":
        command = [sys.executable, "-m", "flask", "--app", "app", "run", "--port", str(port)]
    else:
        gunicorn = shutil.which("gunicorn")
        assert gunicorn, "gunicorn is installed by requirements-dev.txt"
        command = [gunicorn, "-w", "1", "-b", f"127.0.0.1:{port}", "app.wsgi:app"]
    env = {**os.environ, "MAX_CONTENT_LENGTH": str(LIMIT), "ACCESS_LOG": "off"}
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, 30)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.slow
@pytest.mark.parametrize(("size", "status"), [(LIMIT, 200), (LIMIT + 1, 413)])
def test_a_body_with_content_length_at_and_over_the_limit(port: int, size: int, status: int) -> None:
    body = body_of(size)
    assert exchange(port, with_length(body), body) == status


@pytest.mark.slow
@pytest.mark.parametrize(("size", "status"), [(LIMIT, 200), (LIMIT + 1, 413)])
def test_a_chunked_body_at_and_over_the_limit(port: int, size: int, status: int) -> None:
    assert exchange(port, *chunked(body_of(size))) == status
