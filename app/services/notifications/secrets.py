"""Webhook secrets: made here, shown once, kept encrypted so that the worker can sign with them.

A secret is `whsec_` and the base64 of 32 random bytes (the Standard Webhooks form). It is
stored encrypted with Fernet (AES-128-CBC with HMAC-SHA256, from `cryptography`) under a key
derived from `JOINUP_SECRET_KEY`; without that setting, from a random key kept in a file
(`JOINUP_SECRET_KEY_FILE`, made on first use, readable by its owner only), which serves one
machine. Whoever reads the database without the key learns no secret.

Several machines on one PostgreSQL each make their own key file, and none can open the others'
secrets: `box` warns at start when that can happen (docs/notifications.md).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import secrets
from pathlib import Path
from typing import Final

from cryptography.fernet import Fernet, InvalidToken

PREFIX: Final = "whsec_"
log = logging.getLogger("joinup.notifications")


class SecretUnreadable(Exception):
    """A stored secret that this box's key did not seal (another machine's key, or a changed
    one)."""


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


class SecretBox:
    """Encrypts and decrypts secrets under one key."""

    def __init__(self, key: str) -> None:
        derived = hashlib.sha256(key.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken as error:
            raise SecretUnreadable("sealed under another key") from error


def box(key: str | None, key_file: str, *, shared_database: bool = False) -> SecretBox:
    """The box of the configured key, or of the key kept in `key_file` (made if missing). On a
    database other machines may share (`shared_database`), a kept key is warned about: each
    machine would make its own, and could not sign the subscriptions made through another."""
    if key:
        return SecretBox(key)
    if shared_database:
        log.warning(
            "JOINUP_SECRET_KEY is not set: webhook secrets are encrypted with the key kept in "
            "%s, which is this machine's alone. Every machine or container serving this "
            "PostgreSQL database must have the same key, or deliveries of subscriptions made "
            'elsewhere fail ("secret cannot be decrypted"): set JOINUP_SECRET_KEY to the same '
            "long random string everywhere (docs/notifications.md).",
            key_file,
        )
    return SecretBox(_kept_key(Path(key_file)))


def _kept_key(path: Path) -> str:
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    made = secrets.token_urlsafe(32)
    draft = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(made + "\n")
    try:
        # Whole or not at all; a process that made one first wins, and the others use it.
        os.link(draft, path)
    except FileExistsError:
        made = path.read_text().strip()
    finally:
        draft.unlink()
    return made
