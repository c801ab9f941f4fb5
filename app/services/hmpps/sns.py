"""Amazon SNS messages: reading them, checking their signatures, confirming subscriptions.

SNS signs every message it sends with the certificate at `SigningCertURL` (SignatureVersion 1:
SHA1withRSA, 2: SHA256withRSA) over a fixed selection of the message's fields. A certificate is
fetched only over HTTPS from an `sns.<region>.amazonaws.com` host (or a host the deployment
trusts for testing, `JOINUP_SNS_CERT_HOSTS`), then kept for the life of the process: AWS rotates
them by publishing a new URL. A `SubscriptionConfirmation` is confirmed by fetching its
`SubscribeURL`, under the same host rule.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

import httpx
import orjson
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from app.services.errors import Forbidden, Invalid, ServiceError

NOTIFICATION: Final = "Notification"
SUBSCRIPTION_CONFIRMATION: Final = "SubscriptionConfirmation"
UNSUBSCRIBE_CONFIRMATION: Final = "UnsubscribeConfirmation"
ENVELOPE: Final = "Envelope"  # a domain event posted as it is, with no SNS wrapper
_SNS_HOST: Final = re.compile(r"sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?")
_SIGNED_FIELDS: Final = {
    NOTIFICATION: ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    SUBSCRIPTION_CONFIRMATION: (
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ),
}
_SIGNED_FIELDS[UNSUBSCRIBE_CONFIRMATION] = _SIGNED_FIELDS[SUBSCRIPTION_CONFIRMATION]
_HASHES: Final = {"1": hashes.SHA1, "2": hashes.SHA256}


@dataclass(frozen=True)
class Message:
    """A posted body: an SNS message (`fields` as sent) or a bare domain event (`ENVELOPE`)."""

    kind: str
    fields: dict[str, Any]
    envelope: Any = None

    @property
    def message(self) -> str:
        return str(self.fields.get("Message", ""))


def _json(text: str | bytes, what: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise ServiceError(
            f"{what} is not valid JSON: {error}", slug="malformed-json", title="Malformed JSON"
        ) from None


def parse(body: bytes) -> Message:
    """Read a posted body: an SNS message (sent as text/plain by SNS) or a domain event."""
    raw = _json(body, "the request body")
    if not isinstance(raw, dict):
        raise Invalid("the body is a domain event or an SNS message, a JSON object")
    kind = raw.get("Type")
    if kind is None and "eventType" in raw:
        return Message(ENVELOPE, {}, raw)
    if kind not in _SIGNED_FIELDS:
        raise Invalid(f"an SNS message of Type {kind!r} is not one joinup takes")
    if kind == NOTIFICATION:
        if not isinstance(raw.get("Message"), str):
            raise Invalid("an SNS notification carries its domain event as the Message string")
        return Message(kind, raw, _json(raw["Message"], "the notification's Message"))
    return Message(kind, raw)


def string_to_sign(fields: dict[str, Any]) -> bytes:
    """The text SNS signs: each signed field present, as its name and value on two lines."""
    kind = fields.get("Type")
    names = _SIGNED_FIELDS.get(kind if isinstance(kind, str) else "", ())
    lines = [f"{name}\n{fields[name]}\n" for name in names if fields.get(name) is not None]
    return "".join(lines).encode()


def _refused(detail: str) -> Forbidden:
    return Forbidden(f"the SNS message's signature cannot be verified: {detail}")


class Sns:
    """Verifies messages and confirms subscriptions; keeps the certificates it fetched."""

    def __init__(
        self, client: httpx.AsyncClient, *, verify: bool = True, hosts: frozenset[str] = frozenset()
    ) -> None:
        self._client = client
        self._verify = verify
        self._hosts = hosts
        self._keys: dict[str, rsa.RSAPublicKey] = {}

    def allowed(self, url: Any) -> bool:
        """Whether joinup may fetch this URL: HTTPS on an SNS host (or a trusted test host)."""
        if not isinstance(url, str):
            return False
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname:
            return False
        return bool(_SNS_HOST.fullmatch(parts.hostname)) or parts.netloc in self._hosts

    async def verify(self, message: Message) -> None:
        """Raise `Forbidden` unless the message is signed by SNS (skipped when turned off)."""
        if not self._verify or message.kind == ENVELOPE:
            return
        fields = message.fields
        algorithm = _HASHES.get(str(fields.get("SignatureVersion")))
        if algorithm is None:
            raise _refused("SignatureVersion must be 1 or 2")
        try:
            signature = base64.b64decode(str(fields.get("Signature", "")), validate=True)
        except binascii.Error:
            raise _refused("the Signature is not base64") from None
        if not signature:
            raise _refused("the message is not signed")
        key = await self._key(fields.get("SigningCertURL"))
        try:
            key.verify(signature, string_to_sign(fields), padding.PKCS1v15(), algorithm())
        except InvalidSignature:
            raise _refused("the signature does not match the message") from None

    async def _key(self, url: Any) -> rsa.RSAPublicKey:
        if not self.allowed(url):
            raise _refused("SigningCertURL is not an HTTPS URL of an SNS host")
        if url not in self._keys:
            pem = await self._fetch(url, "the signing certificate")
            try:
                key = x509.load_pem_x509_certificate(pem).public_key()
            except ValueError:
                raise _refused("the signing certificate cannot be read") from None
            if not isinstance(key, rsa.RSAPublicKey):
                raise _refused("the signing certificate's key is not RSA")
            self._keys[url] = key
        return self._keys[url]

    async def confirm(self, message: Message) -> None:
        """Confirm a subscription by fetching its SubscribeURL."""
        url = message.fields.get("SubscribeURL")
        if not isinstance(url, str) or not self.allowed(url):
            raise Invalid("SubscribeURL is not an HTTPS URL of an SNS host")
        await self._fetch(url, "the subscription confirmation")

    async def _fetch(self, url: str, what: str) -> bytes:
        try:
            answer = await self._client.get(url)
        except httpx.HTTPError as error:
            raise Unreachable(f"{what} could not be fetched: {error!r}") from None
        if answer.status_code != 200:
            raise Unreachable(f"{what} could not be fetched: HTTP {answer.status_code}")
        return answer.content


class Unreachable(ServiceError):
    """SNS could not be reached to fetch a certificate or confirm a subscription: try again."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail, slug="upstream-unavailable", title="Upstream unavailable")
