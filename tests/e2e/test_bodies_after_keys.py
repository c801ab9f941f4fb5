"""Bodies after keys (CONTRACT §2): a real server checks a /v1 request's key from its headers
before reading any of its body, keeps bodies sent before any key small, and gives up on slow
ones -- so that callers without a key cannot fill its memory."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from tests.support.server import ADMIN, new_key, serve

BIG = 16 * 1024 * 1024
CHUNK = b"x" * (256 * 1024)
ENV = {"JOINUP_ADMIN_KEY": ADMIN, "JOINUP_BODY_TIMEOUT_SECONDS": "2"}


def _connect(url: str) -> socket.socket:
    parts = urlsplit(url)
    return socket.create_connection((parts.hostname, parts.port), timeout=20)


def _head(path: str, length: int, authorization: str = "") -> bytes:
    lines = [
        f"POST {path} HTTP/1.1",
        "Host: joinup",
        "Content-Type: application/json",
        f"Content-Length: {length}",
    ]
    if authorization:
        lines.append(f"Authorization: {authorization}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _status(sock: socket.socket) -> int:
    answer = b""
    while b"\r\n" not in answer:
        got = sock.recv(4096)
        if not got:
            break
        answer += got
    return int(answer.split(b" ", 2)[1])


def _rss_mb(pid: int) -> float:
    """The resident memory of the server: every process of its session (uvicorn and workers)."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getsid(int(entry.name)) != pid:
                continue
            status = (entry / "status").read_text()
        except (OSError, ProcessLookupError):
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def _flood(url: str, done: list[int]) -> None:
    """One unauthenticated 16 MB body, sent for as long as the server takes it."""
    with _connect(url) as sock:
        try:
            sock.sendall(_head("/v1/events", BIG))
            for _ in range(BIG // len(CHUNK)):
                sock.sendall(CHUNK)
        except OSError:
            pass  # the server answered and closed: it need not take the rest
        try:
            done.append(_status(sock))
        except OSError:
            done.append(0)


def test_a_request_without_a_key_is_refused_before_its_body_arrives(
    database_url: str, tmp_path: Path
) -> None:
    with serve(database_url, tmp_path / "server.log", env=ENV) as server:
        for authorization in ("", "Bearer not-a-key", "Basic Om5vcGU="):
            with _connect(server.url) as sock:
                # The headers promise 16 MB and not one byte of it is sent: the answer comes anyway.
                sock.sendall(_head("/v1/events", BIG, authorization))
                assert _status(sock) == 401
        with _connect(server.url) as sock:
            sock.sendall(_head("/v1/integrations/hmpps/events", BIG))
            assert _status(sock) == 401


def test_forty_unauthenticated_16_mb_bodies_leave_the_server_small(
    database_url: str, tmp_path: Path
) -> None:
    with serve(database_url, tmp_path / "server.log", env=ENV) as server:
        before = _rss_mb(server.process.pid)
        done: list[int] = []
        senders = [threading.Thread(target=_flood, args=(server.url, done)) for _ in range(40)]
        for sender in senders:
            sender.start()
        peak = before
        while any(sender.is_alive() for sender in senders):
            peak = max(peak, _rss_mb(server.process.pid))
            time.sleep(0.05)
        for sender in senders:
            sender.join()
        print(f"server RSS before {before:.0f} MB, peak {peak:.0f} MB under 40 x 16 MB bodies")
        # The server's own size at rest is most of the 250 MB (about 240): the bodies add little.
        assert peak < 250 and peak - before < 40, (before, peak)
        assert sorted(set(done)) == [401], done
        assert httpx.get(f"{server.url}/healthz").status_code == 200


def test_bodies_sent_before_a_key_are_small_and_slow_bodies_are_given_up(
    database_url: str, tmp_path: Path
) -> None:
    with serve(database_url, tmp_path / "server.log", env=ENV) as server:
        form = httpx.post(f"{server.url}/sign-in", content=b"a" * (128 * 1024))
        assert form.status_code == 413
        assert form.headers["content-type"].startswith("application/problem+json")
        key = new_key(server.url, "PROVIDER-A")["Authorization"]
        with _connect(server.url) as sock:
            started = time.monotonic()
            sock.sendall(_head("/v1/events", 1000, key) + b'{"event_id":')
            assert _status(sock) == 408
            assert 1.5 < time.monotonic() - started < 15
        assert httpx.get(f"{server.url}/healthz").status_code == 200
