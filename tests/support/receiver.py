"""A webhook receiver in a process of its own, over real HTTP.

Run as `python -m tests.support.receiver PORT LOG CONTROL`: it writes every request it gets (path,
headers, body, the status it answered) as a JSON line to LOG, and answers with the status written
in the file CONTROL (200 when the file is missing), after the delay written after it, if any
(`"500"`, `"200 0.5"`). The tests drive it through `Receiver`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.support.server import ROOT, free_port


@dataclass
class Receiver:
    url: str
    log: Path
    control: Path
    process: subprocess.Popen[bytes]

    def answer(self, status: int, delay: float = 0.0) -> None:
        draft = self.control.with_suffix(".draft")
        draft.write_text(f"{status} {delay}")
        draft.replace(self.control)

    def requests(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        lines = self.log.read_text().splitlines()
        return [json.loads(line) for line in lines if line.endswith("}")]

    def acknowledged(self, path: str | None = None) -> list[dict[str, Any]]:
        """The requests it answered 2xx, in the order they came (on `path` only, if given)."""
        return [
            r
            for r in self.requests()
            if 200 <= r["status"] < 300 and (path is None or r["path"] == path)
        ]

    def wait_for(
        self, enough: Callable[[list[dict[str, Any]]], bool], timeout: float = 60
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            seen = self.requests()
            if enough(seen):
                return seen
            time.sleep(0.1)
        raise AssertionError(f"the receiver did not get what was expected; it got {seen}")


@contextmanager
def receiving(directory: Path, port: int | None = None) -> Iterator[Receiver]:
    port = port or free_port()
    log, control = directory / f"received-{port}.jsonl", directory / f"control-{port}"
    command = [sys.executable, "-m", "tests.support.receiver", str(port), str(log), str(control)]
    process = subprocess.Popen(command, cwd=ROOT, start_new_session=True)
    receiver = Receiver(f"http://127.0.0.1:{port}", log, control, process)
    try:
        _wait_listening(port, process)
        yield receiver
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _wait_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    import socket

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        assert process.poll() is None, "the receiver exited"
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError("the receiver did not start")


class _Handler(BaseHTTPRequestHandler):
    log_path: Path
    control: Path
    lock = threading.Lock()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        status, delay = self._wanted()
        if delay:
            time.sleep(delay)
        self.send_response(status)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
        line = {
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body.decode(),
            "status": status,
            "at": time.time(),
        }
        with self.lock, self.log_path.open("a") as sink:
            sink.write(json.dumps(line) + "\n")

    def _wanted(self) -> tuple[int, float]:
        try:
            parts = self.control.read_text().split()
        except FileNotFoundError:
            return 200, 0.0
        return int(parts[0]), float(parts[1]) if len(parts) > 1 else 0.0

    def log_message(self, format: str, *args: Any) -> None:
        pass


def main() -> None:
    port, log, control = int(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    _Handler.log_path, _Handler.control = log, control
    ThreadingHTTPServer(("127.0.0.1", port), _Handler).serve_forever()


if __name__ == "__main__":
    main()
