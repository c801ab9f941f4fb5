"""Real HTTP servers on loopback standing in for HMPPS: HMPPS Auth's token endpoint, CVL's licence
endpoint, and an HTTPS host serving an SNS signing certificate and subscription confirmations.
Also the test certificate (made with `cryptography`) and SNS's signature over a message."""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from app.services.hmpps.sns import string_to_sign

CLIENT_ID, CLIENT_SECRET = "joinup-client", "joinup-client-secret"


@dataclass
class Hmpps:
    """What the fake HMPPS Auth and CVL know and have seen."""

    licences: dict[str, Any] = field(default_factory=dict)
    down: bool = False  # CVL answers 503
    failures: int = 0  # CVL answers 503 to this many more requests
    throttled: int = 0  # CVL answers 429 to this many more requests
    retry_after: str | None = None  # with this Retry-After
    auth_down: bool = False
    expires_in: int = 1200
    issued: list[str] = field(default_factory=list)
    revoked: set[str] = field(default_factory=set)
    licence_reads: list[str] = field(default_factory=list)
    # Set while a licence request waits for `release` (to hold a consumer mid-message).
    hold: threading.Event | None = None
    holding: threading.Event = field(default_factory=threading.Event)
    url: str = ""

    @property
    def auth_url(self) -> str:
        return f"{self.url}/auth"

    @property
    def cvl_url(self) -> str:
        return f"{self.url}/cvl"

    def settings(self) -> dict[str, Any]:
        return {
            "cvl_url": self.cvl_url,
            "hmpps_auth_url": self.auth_url,
            "hmpps_client_id": CLIENT_ID,
            "hmpps_client_secret": CLIENT_SECRET,
        }


def _handler(state: Hmpps) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _answer(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            parts = urlsplit(self.path)
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
            if parts.path != "/auth/oauth/token" or state.auth_down:
                return self._answer(503 if state.auth_down else 404, {})
            if parse_qs(parts.query).get("grant_type") != ["client_credentials"]:
                return self._answer(400, {"error": "unsupported_grant_type"})
            if self.headers.get("Authorization") != f"Basic {basic}":
                return self._answer(401, {"error": "invalid_client"})
            token = f"token-{len(state.issued) + 1}"
            state.issued.append(token)
            body = {"access_token": token, "token_type": "bearer", "expires_in": state.expires_in}
            return self._answer(200, body)

        def do_GET(self) -> None:
            prefix = "/cvl/public/licences/id/"
            if not self.path.startswith(prefix):
                return self._answer(404, {})
            licence_id = self.path[len(prefix) :]
            if state.hold is not None:
                state.holding.set()
                state.hold.wait(30)
            if state.down or state.failures > 0:
                state.failures = max(state.failures - 1, 0)
                return self._answer(503, {"status": 503})
            if state.throttled > 0:
                state.throttled -= 1
                wait = {"Retry-After": state.retry_after} if state.retry_after is not None else {}
                return self._answer(429, {"status": 429}, wait)
            token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
            if token not in state.issued or token in state.revoked:
                return self._answer(401, {"status": 401})
            state.licence_reads.append(licence_id)
            if licence_id not in state.licences:
                return self._answer(404, {"status": 404})
            return self._answer(200, state.licences[licence_id])

    return Handler


class _Quiet(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up waiting (the timeout tests) is no error here


@contextmanager
def _serving(server: ThreadingHTTPServer) -> Iterator[ThreadingHTTPServer]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@contextmanager
def hmpps_servers() -> Iterator[Hmpps]:
    """HMPPS Auth at `.auth_url` and CVL at `.cvl_url`, one plain-HTTP loopback server."""
    state = Hmpps()
    server = _Quiet(("127.0.0.1", 0), _handler(state))
    with _serving(server):
        state.url = f"http://127.0.0.1:{server.server_address[1]}"
        yield state


@dataclass
class Certificate:
    key: rsa.RSAPrivateKey
    pem: bytes
    path: Path


def make_certificate(directory: Path) -> Certificate:
    """A self-signed RSA certificate for 127.0.0.1: TLS for the fake SNS host, and SNS's
    signing certificate."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM)
    (directory / "sns-cert.pem").write_bytes(pem)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    (directory / "sns-key.pem").write_bytes(key_pem)
    return Certificate(key, pem, directory / "sns-cert.pem")


@dataclass
class SnsHost:
    """The fake SNS host: serves the signing certificate and records confirmations."""

    url: str
    host: str
    cert: Certificate
    confirmed: list[str] = field(default_factory=list)
    cert_fetches: int = 0

    @property
    def cert_url(self) -> str:
        return f"{self.url}/SimpleNotificationService-test.pem"

    def sign(self, message: dict[str, Any], version: str = "1") -> dict[str, Any]:
        """The message as SNS sends it: with SigningCertURL, SignatureVersion and Signature."""
        signed = {**message, "SigningCertURL": self.cert_url, "SignatureVersion": version}
        algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
        signature = self.cert.key.sign(string_to_sign(signed), padding.PKCS1v15(), algorithm)
        signed["Signature"] = base64.b64encode(signature).decode()
        return signed


def _sns_handler(host: SnsHost) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            if self.path.endswith(".pem"):
                host.cert_fetches += 1
                body = host.cert.pem
            else:
                host.confirmed.append(self.path)
                body = b"<ConfirmSubscriptionResponse/>"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


@contextmanager
def sns_host(directory: Path) -> Iterator[SnsHost]:
    """An HTTPS server on loopback with a test certificate, standing in for sns.<region>..."""
    cert = make_certificate(directory)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(directory / "sns-cert.pem", directory / "sns-key.pem")
    host = SnsHost("", "", cert)
    server = _Quiet(("127.0.0.1", 0), _sns_handler(host))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    with _serving(server):
        host.host = f"127.0.0.1:{server.server_address[1]}"
        host.url = f"https://{host.host}"
        yield host
