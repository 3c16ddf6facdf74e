"""Oversized bodies are a 413 before they are buffered, with or without an Idempotency-Key.

Raw sockets, so the test decides how much of a body is really sent: a real client would send
the whole announced body, and the server's answer to an unread body is a closed connection.
"""

import contextlib
import json
import socket
import threading
from pathlib import Path

import pytest

from tests.fixtures.processes import HOST

LIMIT = 1024 * 1024  # MAX_BODY_BYTES of the private API


@pytest.fixture(scope="module")
def small_api(start_api):
    return start_api({"MAX_BODY_BYTES": str(LIMIT)})


@pytest.fixture(scope="module")
async def path(tenant):
    program = await tenant.create_program(name="Body limits")
    return f"/v2/giftcards/programs/{program['id']}/cards/bulk"


def _head(path: str, tenant, extra: dict[str, str]) -> bytes:
    headers = {
        "Host": HOST,
        "Authorization": tenant.http.headers["Authorization"],
        "Content-Type": "application/json",
        **extra,
    }
    lines = [f"POST {path} HTTP/1.1", *(f"{k}: {v}" for k, v in headers.items()), "", ""]
    return "\r\n".join(lines).encode()


def _answer(sock: socket.socket) -> tuple[int, dict]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before an answer: {data!r}"
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(65536)
    return int(head.split(b" ", 2)[1]), json.loads(body[:length])


def _vm_hwm_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM")))


@pytest.mark.parametrize("keyed", [True, False], ids=["with-key", "without-key"])
def test_an_announced_oversized_body_is_refused_before_it_is_sent(small_api, tenant, path, keyed):
    extra = {"Content-Length": str(256 * 1024 * 1024)}
    if keyed:
        extra["Idempotency-Key"] = f"too-big-{keyed}"
    with socket.create_connection((HOST, small_api.port), timeout=30) as sock:
        sock.sendall(_head(path, tenant, extra))  # not one byte of the 256 MiB follows
        status, body = _answer(sock)
    assert status == 413
    assert body["code"] == "request_too_large", body


def test_a_streamed_oversized_body_is_not_buffered(small_api, tenant, path):
    """Chunked, so nothing is announced: 48 MiB offered against a 1 MiB limit. Buffering it
    (what the Idempotency-Key middleware did) grows the API by the body's size at least."""
    before = _vm_hwm_kib(small_api.pid)
    head = _head(path, tenant, {"Transfer-Encoding": "chunked", "Idempotency-Key": "streamed"})
    chunk = b"40000\r\n" + b"7" * 0x40000 + b"\r\n"  # 256 KiB chunks
    answers: list[tuple[int, dict]] = []

    def send_all(sock: socket.socket) -> None:
        # the server answers and closes once over the limit: the rest is refused (OSError)
        with contextlib.suppress(OSError):
            sock.sendall(head)
            for _ in range(48 * 4):
                sock.sendall(chunk)
            sock.sendall(b"0\r\n\r\n")

    with socket.create_connection((HOST, small_api.port), timeout=60) as sock:
        sender = threading.Thread(target=send_all, args=(sock,))
        sender.start()
        # an answer racing the connection's reset may be lost; the memory is the point
        with contextlib.suppress(OSError, AssertionError):
            answers.append(_answer(sock))
        sender.join(timeout=120)
    assert not sender.is_alive()
    grown_kib = _vm_hwm_kib(small_api.pid) - before
    assert grown_kib < 16 * 1024, f"the API grew by {grown_kib} KiB for a refused body"
    if answers:
        assert answers[0][0] == 413 and answers[0][1]["code"] == "request_too_large"
    assert small_api.alive()
