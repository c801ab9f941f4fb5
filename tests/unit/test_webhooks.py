"""Where webhooks may go, and how they are signed: checked without a receiver."""

from __future__ import annotations

import asyncio
import logging
import socket
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook

from app.domain.changes import Interest
from app.main import delivering
from app.services.notifications import webhooks
from app.services.notifications.secrets import SecretBox, SecretUnreadable, new_secret
from app.settings import Settings


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://hooks.example.org/joinup", None),
        ("https://93.184.215.14:8443/x", None),
        ("http://hooks.example.org/joinup", "must be https"),
        ("https://127.0.0.1/x", "must be a public address"),
        ("https://10.0.0.7/x", "must be a public address"),
        ("https://192.168.1.1/x", "must be a public address"),
        ("https://169.254.169.254/latest/meta-data", "must be a public address"),
        ("https://[::1]/x", "must be a public address"),
        ("https://[::ffff:127.0.0.1]/x", "must be a public address"),
        ("https://[fd00::1]/x", "must be a public address"),
        ("https://localhost/x", "must be a public address"),
        # IETF protocol assignments: 192.0.0.192 is Oracle Cloud's metadata service.
        ("https://192.0.0.192/opc/v2/instance", "must be a public address"),
        ("https://192.0.0.9/x", "must be a public address"),
        # IPv6 forms that reach an IPv4 address are judged by it: IPv4-mapped, NAT64, 6to4.
        ("https://[::ffff:192.0.0.192]/x", "must be a public address"),
        ("https://[::ffff:10.0.0.1]/x", "must be a public address"),
        ("https://[::ffff:93.184.215.14]/x", None),
        ("https://[64:ff9b::a9fe:a9fe]/latest", "must be a public address"),
        ("https://[64:ff9b::7f00:1]/x", "must be a public address"),
        ("https://[64:ff9b::5db8:d70e]/x", None),
        ("https://[64:ff9b:1::5db8:d70e]/x", "must be a public address"),
        ("https://[2002:a9fe:a9fe::1]/latest", "must be a public address"),
        ("https://[2002:c0a8:101::1]/x", "must be a public address"),
        ("https://[2002:5db8:d70e::1]/x", None),
        # Deprecated forms: IPv4-compatible and site-local.
        ("https://[::127.0.0.1]/x", "must be a public address"),
        ("https://[fec0::1]/x", "must be a public address"),
        ("https://[2606:4700::1111]/x", None),
        ("https://user:pw@hooks.example.org/x", "must not carry credentials"),
        ("hooks.example.org", "must be https"),
    ],
)
def test_only_https_to_public_addresses(url: str, problem: str | None) -> None:
    assert webhooks.url_problem(url, allow_insecure=False) == problem


def test_development_allows_http_and_loopback() -> None:
    assert webhooks.url_problem("http://127.0.0.1:9000/x", allow_insecure=True) is None
    assert webhooks.url_problem("ftp://127.0.0.1/x", allow_insecure=True) == "must be https or http"


def test_a_name_that_resolves_to_a_private_address_is_refused_at_delivery() -> None:
    # The machine's own name resolves to one of its addresses, never a public one here.
    name = socket.gethostname()

    async def attempt() -> webhooks.Answer:
        async with webhooks.client() as http:
            return await webhooks.send(
                http, f"https://{name}/hook", {}, b"{}", timeout=2, allow_insecure=False
            )

    answer = asyncio.run(attempt())
    assert answer.status_code is None and answer.error is not None
    assert "not public" in answer.error and not answer.acknowledged


def test_signatures_verify_with_the_reference_library_and_secrets_survive_the_box() -> None:
    secret = new_secret()
    box = SecretBox("a key from the environment")
    sealed = box.seal(secret)
    assert secret not in sealed and box.open(sealed) == secret
    body = b'{"change_id": "7", "type": "record.created"}'
    headers = webhooks.signed_headers(box.open(sealed), "7", body)
    assert Webhook(secret).verify(body, headers) == {"change_id": "7", "type": "record.created"}
    with pytest.raises(Exception, match="signature"):
        Webhook(new_secret()).verify(body, headers)

    with pytest.raises(SecretUnreadable):
        SecretBox("another machine's key").open(sealed)


@pytest.mark.parametrize(
    ("database_url", "key", "warned"),
    [
        ("postgresql+psycopg://joinup@db.internal/joinup", None, True),
        ("postgresql+psycopg://joinup@db.internal/joinup", "a shared key", False),
        ("sqlite:///./var/joinup.db", None, False),
    ],
)
def test_a_kept_key_on_a_database_machines_share_is_warned_about_at_start(
    database_url: str,
    key: str | None,
    warned: bool,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = Settings(
        database_url=database_url, secret_key=key, secret_key_file=str(tmp_path / "secret.key")
    )
    with caplog.at_level(logging.WARNING, logger="joinup.notifications"):
        delivering(settings)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert bool(warnings) is warned
    if warned:
        assert "JOINUP_SECRET_KEY is not set" in warnings[0]
        assert str(tmp_path / "secret.key") in warnings[0]


def test_an_interest_keeps_to_every_limit_and_its_filter() -> None:
    mdi = Interest(
        types=frozenset({"record.flag_raised", "record.created"}),
        limits=({"prisons": frozenset({"MDI"})}, {"probation_regions": frozenset({"London"})}),
        flags=frozenset({"no_ost"}),
    )
    fields = {"prison": "MDI", "probation_region": "London"}
    assert mdi.admits("record.flag_raised", fields, "awaiting_pickup", "no_ost", frozenset())
    assert not mdi.admits(
        "record.flag_raised", fields, "awaiting_pickup", "no_referral", frozenset()
    )
    assert not mdi.admits("record.stage_changed", fields, "not_picked_up", None, frozenset())
    other = {"prison": "LPI", "probation_region": "London"}
    assert not mdi.admits("record.flag_raised", other, "awaiting_pickup", "no_ost", frozenset())
    unknown = {"prison": "MDI", "probation_region": None}
    assert not mdi.admits("record.flag_raised", unknown, "awaiting_pickup", "no_ost", frozenset())
    assert mdi.admits("record.created", fields, "awaiting_pickup", None, frozenset({"no_ost"}))
    assert not mdi.admits("record.created", fields, "awaiting_pickup", None, frozenset())
