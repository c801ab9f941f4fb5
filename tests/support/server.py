"""A real joinup server process, started the way an operator starts it: `scripts/serve`."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.api import key_body

ROOT = Path(__file__).resolve().parents[2]
# The admin secret the end-to-end tests start their servers with (JOINUP_ADMIN_KEY).
ADMIN = "e2e-admin-secret-0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"joinup exited early:\n{log.read_text(errors='replace')}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"joinup did not become ready:\n{log.read_text(errors='replace')}")


@contextmanager
def serve(
    database_url: str, log: Path, *, workers: int = 1, env: dict[str, str] | None = None
) -> Iterator[Server]:
    """Start `scripts/serve`, wait until /readyz answers, stop it with SIGTERM afterwards."""
    port = free_port()
    environment = {
        **os.environ,
        "JOINUP_DATABASE_URL": database_url,
        "JOINUP_PORT": str(port),
        "JOINUP_WORKERS": str(workers),
        **(env or {}),
    }
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(ROOT / "scripts" / "serve")],
            cwd=ROOT,
            env=environment,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process, log, timeout=60)
        yield Server(url, process, log)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@contextmanager
def worker(database_url: str, log: Path, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """A `joinup worker` process (beside servers run with JOINUP_INLINE_WORKER=0), stopped with
    SIGTERM afterwards unless it has stopped already."""
    environment = {**os.environ, **env, "JOINUP_DATABASE_URL": database_url}
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "joinup"), "worker"],
            cwd=ROOT,
            env=environment,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def new_key(url: str, org: str, role: str = "submitter") -> dict[str, str]:
    """The headers of a new key of `org` with `role`, made with the admin secret `ADMIN`."""
    made = httpx.post(
        f"{url}/v1/keys",
        json=key_body(org, role),
        headers={"Authorization": f"Bearer {ADMIN}"},
    )
    assert made.status_code == 201, made.text
    return {"Authorization": f"Bearer {made.json()['secret']}"}


class HalfSent:
    """A request body sent as a slow client sends it: the first half, then, once `resume()` is
    called, the rest (`half_sent` is set in between)."""

    def __init__(self, body: bytes, wait: float = 30) -> None:
        self._body = body
        self._wait = wait
        self._resume = threading.Event()
        self.half_sent = threading.Event()

    def __iter__(self) -> Iterator[bytes]:
        half = len(self._body) // 2
        yield self._body[:half]
        self.half_sent.set()
        self._resume.wait(self._wait)
        yield self._body[half:]

    def resume(self) -> None:
        self._resume.set()
