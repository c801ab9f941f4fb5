"""Sending one webhook: to public addresses only, signed, with a deadline and a small appetite.

The receiver's name is resolved at every delivery and each address it gives is checked (against
DNS rebinding, a name that was public when subscribed may not be now); the request then goes to
the checked address itself, with the name kept for the Host header and for TLS (SNI and the
certificate check). Redirects are not followed, proxies from the environment are not used, and
at most `MAX_ANSWER_BYTES` of an answer are read.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import httpx
from standardwebhooks.webhooks import Webhook

MAX_ANSWER_BYTES: Final = 4096
_SCHEMES: Final = ("https",)
_INSECURE_SCHEMES: Final = ("https", "http")


class AddressRefused(Exception):
    """The URL, or an address its name resolves to, is not one joinup sends to."""


def url_problem(url: str, *, allow_insecure: bool) -> str | None:
    """Why joinup will not send to `url` (None: it may), judged without resolving its name."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return "not a URL"
    schemes = _INSECURE_SCHEMES if allow_insecure else _SCHEMES
    if parsed.scheme not in schemes:
        return "must be https" if not allow_insecure else "must be https or http"
    if not parsed.host:
        return "has no host"
    if parsed.userinfo:
        return "must not carry credentials"
    if allow_insecure:
        return None
    if parsed.host == "localhost" or parsed.host.endswith(".localhost"):
        return "must be a public address"
    try:
        address = ipaddress.ip_address(parsed.host)
    except ValueError:
        return None
    return None if _public(address) else "must be a public address"


# Not public, though Python's `is_global` says so: IETF protocol assignments (192.0.0.192 is a
# cloud's metadata service), and the NAT64 prefix for one network's own use (RFC 8215).
_NOT_PUBLIC: Final = (
    ipaddress.ip_network("192.0.0.0/24"),
    ipaddress.ip_network("64:ff9b:1::/48"),
)
# The well-known NAT64 prefix (RFC 6052): the IPv4 address reached is the last 32 bits.
_NAT64: Final = ipaddress.ip_network("64:ff9b::/96")


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Public: not loopback, private, link-local (cloud metadata lives there), multicast,
    reserved, site-local or unspecified; an IPv6 address that carries an IPv4 one (IPv4-mapped,
    NAT64, 6to4) is judged by the IPv4 address it reaches."""
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        return _public(embedded)
    if any(address in network for network in _NOT_PUBLIC):
        return False
    site_local = isinstance(address, ipaddress.IPv6Address) and address.is_site_local
    return address.is_global and not (address.is_multicast or address.is_reserved or site_local)


def _embedded_ipv4(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> ipaddress.IPv4Address | None:
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.ipv4_mapped or address.sixtofour


async def _addresses(host: str, port: int, *, allow_insecure: bool) -> list[str]:
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise AddressRefused(f"cannot resolve {host}: {error.strerror}") from error
    addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
    refused = [a for a in addresses if not _public(ipaddress.ip_address(a))]
    if refused and not allow_insecure:
        raise AddressRefused(f"{host} resolves to an address that is not public: {refused[0]}")
    return addresses


@dataclass(frozen=True)
class Answer:
    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def acknowledged(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def signed_headers(secret: str, webhook_id: str, body: bytes) -> dict[str, str]:
    """The Standard Webhooks headers. The timestamp is the machine's real time, whatever the
    service's clock says: receivers refuse timestamps far from their own."""
    at = datetime.fromtimestamp(time.time(), UTC)
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(webhook_id, at, body),
        "content-type": "application/json",
        "user-agent": "joinup-webhooks/1",
    }


async def send(
    client: httpx.AsyncClient,
    url: str,
    headers: dict[str, str],
    body: bytes,
    *,
    timeout: float,
    allow_insecure: bool,
) -> Answer:
    """POST `body` to `url`; the status code, or why there is none."""
    started = time.monotonic()
    try:
        async with asyncio.timeout(timeout):
            status = await _post(client, url, headers, body, timeout, allow_insecure)
        return Answer(status, None, _ms(started))
    except AddressRefused as refused:
        return Answer(None, str(refused), _ms(started))
    except TimeoutError:
        return Answer(None, f"no answer within {timeout:g} s", _ms(started))
    except httpx.HTTPError as error:
        return Answer(None, f"{type(error).__name__}: {error}"[:500], _ms(started))


async def _post(
    client: httpx.AsyncClient,
    url: str,
    headers: dict[str, str],
    body: bytes,
    timeout: float,
    allow_insecure: bool,
) -> int:
    problem = url_problem(url, allow_insecure=allow_insecure)
    if problem is not None:
        raise AddressRefused(f"the URL {problem}")
    target = httpx.URL(url)
    port = target.port or (443 if target.scheme == "https" else 80)
    address = (await _addresses(target.host, port, allow_insecure=allow_insecure))[0]
    pinned = target.copy_with(host=address)
    sent = {**headers, "host": target.netloc.decode("ascii")}
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    request = client.build_request(
        "POST", pinned, content=body, headers=sent, extensions=extensions, timeout=timeout
    )
    response = await client.send(request, stream=True, follow_redirects=False)
    try:
        read = 0
        async for chunk in response.aiter_raw():
            read += len(chunk)
            if read >= MAX_ANSWER_BYTES:
                break
    finally:
        await response.aclose()
    return response.status_code


def _ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def client() -> httpx.AsyncClient:
    """The worker's HTTP client: no proxies from the environment, no redirects, and no kept
    connections: a connection is to an address, and one verified for one name must not carry a
    request for another name that resolves to the same address."""
    limits = httpx.Limits(max_keepalive_connections=0)
    return httpx.AsyncClient(trust_env=False, follow_redirects=False, limits=limits)
