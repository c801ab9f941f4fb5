"""The errors the use cases raise. Each carries a stable slug; the API maps slugs to statuses.

ServiceError
├── Unauthorized        no key, or an unknown or revoked one
├── Forbidden           a known key without the role
│   └── EventTypeNotAllowed   a submitter key posting a type it does not carry
├── NotFound            no such event, person or key (for this caller)
├── Invalid             input that passed the wire schema but breaks a rule
└── Conflict            the request contradicts what is stored (slug says how)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class ErrorItem:
    loc: Sequence[str | int]
    msg: str


@dataclass
class ServiceError(Exception):
    detail: str
    slug: str = "error"
    title: str = "Error"
    errors: list[ErrorItem] = field(default_factory=list)

    def __str__(self) -> str:
        return self.detail


@dataclass
class Unauthorized(ServiceError):
    slug: str = "unauthorized"
    title: str = "Unauthorized"


@dataclass
class Forbidden(ServiceError):
    slug: str = "forbidden"
    title: str = "Forbidden"


@dataclass
class EventTypeNotAllowed(Forbidden):
    slug: str = "event-type-not-allowed"
    title: str = "Event type not allowed"


@dataclass
class NotFound(ServiceError):
    slug: str = "not-found"
    title: str = "Not found"


@dataclass
class Invalid(ServiceError):
    slug: str = "validation-error"
    title: str = "Invalid input"


@dataclass
class Conflict(ServiceError):
    slug: str = "conflict"
    title: str = "Conflict"
