"""Who is calling: what every service that reads or writes on someone's behalf is handed.

Its own module, below the keys and the audit trail alike: keys make principals and the audit
trail records them, and neither needs the other for that.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.domain.filters import Scope
from app.services.errors import EventTypeNotAllowed, Forbidden


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key, its organisation, its roles, its scope (None: unscoped), the
    event types it may post (None: every type, for the service's own callers), and the id of
    the request it is making (for the audit trail)."""

    key_id: str
    org: str
    roles: frozenset[str]
    scope: Scope | None = None
    request_id: str | None = None
    event_types: frozenset[str] | None = None
    # What the caller sent as X-Request-ID: kept apart from the server's own `request_id`.
    caller_request_id: str | None = None

    def require(self, *roles: str) -> None:
        if not self.roles.intersection(roles):
            raise Forbidden(f"this key has none of the roles {', '.join(roles)}")

    def may_write(self, event_type: str) -> EventTypeNotAllowed | None:
        """Why this key may not post, correct or retract an event of `event_type`, if it may not
        (CONTRACT §2.1)."""
        if self.event_types is None or event_type in self.event_types:
            return None
        return EventTypeNotAllowed(f"this key may not post or retract {event_type} events")
