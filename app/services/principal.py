"""Who is calling: what every service that reads or writes on someone's behalf is handed.

Its own module, below the keys and the audit trail alike: keys make principals and the audit
trail records them, and neither needs the other for that.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.domain.filters import Scope
from app.services.errors import Forbidden


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key, its organisation, its roles and its scope (None: unscoped), and
    the id of the request it is making (for the audit trail)."""

    key_id: str
    org: str
    roles: frozenset[str]
    scope: Scope | None = None
    request_id: str | None = None

    def require(self, *roles: str) -> None:
        if not self.roles.intersection(roles):
            raise Forbidden(f"this key has none of the roles {', '.join(roles)}")
