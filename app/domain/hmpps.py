"""HMPPS domain events as joinup events (CONTRACT §8): the mapping alone, with no I/O.

A domain event is read (`read`), then mapped (`map_event`) to one of three answers: the joinup
events it makes (`Mapped`), nothing (`Ignored`, with the reason), or a licence to fetch from
Create and Vary a Licence first (`LicenceToFetch`, finished by app/domain/licences.py once the
licence is read). Every joinup event id is derived from the domain event itself, so a
redelivered message makes the same ids (a duplicate), while the two publishers of one release
make two events of the same date, which the rules merge into one release.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from app.domain.vocabulary import EventType, ReleaseType

LONDON: Final = ZoneInfo("Europe/London")

PRISON_RELEASED: Final = (
    "prison-offender-events.prisoner.released",
    "prisoner-offender-search.prisoner.released",
)
PRISON_RECEIVED: Final = {
    "prison-offender-events.prisoner.received": frozenset({"ADMISSION"}),
    "prisoner-offender-search.prisoner.received": frozenset({"NEW_ADMISSION", "READMISSION"}),
}
LICENCE_KINDS: Final = (
    "licence",
    "hdc-licence",
    "prrd-licence",
    "variation",
    "hdc-variation",
    "time-served-licence",
)
LICENCE_ACTIVATED: Final = tuple(f"create-and-vary-a-licence.{k}.activated" for k in LICENCE_KINDS)
LICENCE_INACTIVATED: Final = tuple(
    f"create-and-vary-a-licence.{k}.inactivated" for k in LICENCE_KINDS
)
PRISON_IDENTIFIER_ADDED: Final = "probation-case.prison-identifier.added"
# Every eventType the mapping reads; an SQS subscription's filter policy lists these.
USED_TYPES: Final = (
    *PRISON_RELEASED,
    *PRISON_RECEIVED,
    *LICENCE_ACTIVATED,
    *LICENCE_INACTIVATED,
    PRISON_IDENTIFIER_ADDED,
)

# nomisMovementReasonCode of a release (reason RELEASED) -> release_type; any other: "other".
RELEASE_TYPES: Final = {
    "CR": ReleaseType.CONDITIONAL_RELEASE,
    "HD": ReleaseType.HDC,
    "ECSL": ReleaseType.ECSL,
    "DEC": ReleaseType.DIED_IN_CUSTODY,
    "DD": ReleaseType.DEPORTED,
    "DE": ReleaseType.DEPORTED,
    "DL": ReleaseType.DEPORTED,
    "HO": ReleaseType.HOSPITAL,
    "HP": ReleaseType.HOSPITAL,
    "HQ": ReleaseType.HOSPITAL,
}
NOT_RELEASES: Final = frozenset(
    {"TRANSFERRED", "SENT_TO_COURT", "TEMPORARY_ABSENCE_RELEASE", "UNKNOWN"}
)
RECEPTION_REASONS: Final = {
    "RECALL": "recall",
    "REMAND": "remand",
    "CONVICTED_UNSENTENCED": "sentenced",
    "SENTENCED": "sentenced",
}
# personReference identifier types -> joinup schemes.
SCHEMES: Final = {"NOMS": "nomis", "CRN": "crn", "PNC": "pnc"}

_FRACTION: Final = re.compile(r"(\.\d{6})\d+")


class InvalidDomainEvent(ValueError):
    """The message is not a domain event joinup can read (what is wrong is the message)."""


@dataclass(frozen=True)
class DomainEvent:
    """The parts of a domain event the mapping reads. `identifiers` are {scheme: value} from
    personReference (NOMS, CRN and PNC only); `info` is additionalInformation."""

    event_type: str
    occurred_at: datetime
    identifiers: Mapping[str, str]
    info: Mapping[str, Any]
    detail_url: str | None
    fingerprint: str


@dataclass(frozen=True)
class Mapped:
    """The joinup event envelopes (CONTRACT §3.1) the domain event becomes."""

    events: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class Ignored:
    reason: str


@dataclass(frozen=True)
class LicenceToFetch:
    """A licence activation: the licence must be read from CVL before its event can be made."""

    event_id: str
    licence_id: str
    detail_url: str | None
    occurred_on: date
    person: Mapping[str, str]


def read(envelope: Any) -> DomainEvent:
    """The domain event of a parsed JSON envelope; `InvalidDomainEvent` if it is not one."""
    if not isinstance(envelope, dict):
        raise InvalidDomainEvent("a domain event is a JSON object")
    event_type = envelope.get("eventType")
    if not isinstance(event_type, str) or not event_type:
        raise InvalidDomainEvent("eventType is missing")
    info = envelope.get("additionalInformation") or {}
    if not isinstance(info, dict):
        raise InvalidDomainEvent("additionalInformation must be an object")
    detail_url = envelope.get("detailUrl")
    if detail_url is not None and not isinstance(detail_url, str):
        raise InvalidDomainEvent("detailUrl must be a string")
    occurred_at = _timestamp(envelope.get("occurredAt"))
    identifiers = _person_reference(envelope.get("personReference"))
    canonical = json.dumps(
        [event_type, occurred_at.isoformat(), sorted(identifiers.items()), info, detail_url],
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    fingerprint = hashlib.sha256(canonical.encode()).hexdigest()[:32]
    return DomainEvent(event_type, occurred_at, identifiers, info, detail_url, fingerprint)


def _timestamp(value: Any) -> datetime:
    if not isinstance(value, str):
        raise InvalidDomainEvent("occurredAt is missing")
    text = _FRACTION.sub(r"\1", value.strip())
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidDomainEvent(f"occurredAt is not an ISO timestamp: {value!r}") from None
    # An offset is the contract; a timestamp without one is taken as London's clock time.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=LONDON)


def _person_reference(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    items = value.get("identifiers") if isinstance(value, dict) else None
    if not isinstance(items, list):
        raise InvalidDomainEvent("personReference.identifiers must be a list")
    found: dict[str, str] = {}
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("value"), str):
            raise InvalidDomainEvent("each personReference identifier is {type, value}")
        scheme = SCHEMES.get(str(item.get("type", "")).upper())
        if scheme is not None:
            found.setdefault(scheme, item["value"])
    return found


def london_date(moment: datetime) -> date:
    """The Europe/London calendar date of an instant (00:30 BST on 2 March is 2 March)."""
    return moment.astimezone(LONDON).date()


def event_id(event: DomainEvent, kind: str) -> str:
    """The joinup event id for the domain event: the same for every delivery of it."""
    return f"hmpps.{kind}.{event.fingerprint}"


def _person(event: DomainEvent) -> dict[str, str]:
    if event.identifiers:
        return dict(event.identifiers)
    noms = event.info.get("nomsNumber")
    if isinstance(noms, str) and noms.strip():
        return {"nomis": noms}
    raise InvalidDomainEvent(
        "no person: personReference has no NOMS, CRN or PNC and there is no nomsNumber"
    )


def _envelope(event: DomainEvent, kind: str, type_: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "event_id": event_id(event, kind),
        "type": type_,
        "occurred_on": london_date(event.occurred_at).isoformat(),
        "person": _person(event),
        "data": data,
    }


def _text(event: DomainEvent, name: str) -> str | None:
    value = event.info.get(name)
    return str(value).strip() if isinstance(value, (str, int)) and str(value).strip() else None


def _required(event: DomainEvent, name: str) -> str:
    value = _text(event, name)
    if value is None:
        raise InvalidDomainEvent(f"additionalInformation.{name} is missing")
    return value


def map_event(event: DomainEvent) -> Mapped | Ignored | LicenceToFetch:
    """What the domain event becomes in joinup (CONTRACT §8's table)."""
    kind = event.event_type
    if kind in PRISON_RELEASED:
        return _release(event)
    if kind in PRISON_RECEIVED:
        return _reception(event, PRISON_RECEIVED[kind])
    if kind in LICENCE_ACTIVATED:
        return LicenceToFetch(
            event_id(event, "licence-activated"),
            _required(event, "licenceId"),
            event.detail_url,
            london_date(event.occurred_at),
            _person(event),
        )
    if kind in LICENCE_INACTIVATED:
        data = {"licence_id": _required(event, "licenceId")}
        return Mapped(
            (_envelope(event, "licence-inactivated", EventType.LICENCE_INACTIVATED, data),)
        )
    if kind == PRISON_IDENTIFIER_ADDED:
        return _identifier_added(event)
    return Ignored(f"joinup does not use {kind} events")


def _release(event: DomainEvent) -> Mapped | Ignored:
    reason = _text(event, "reason")
    if reason == "RELEASED":
        code = (_text(event, "nomisMovementReasonCode") or "").upper()
        release_type = RELEASE_TYPES.get(code, ReleaseType.OTHER)
    elif reason == "RELEASED_TO_HOSPITAL":
        release_type = ReleaseType.HOSPITAL
    else:
        return Ignored(f"a movement with reason {reason or 'none'} is not a release")
    data = {"prison": _required(event, "prisonId"), "release_type": release_type}
    return Mapped((_envelope(event, "released", EventType.PRISON_RELEASED, data),))


def _reception(event: DomainEvent, admissions: frozenset[str]) -> Mapped | Ignored:
    reason = _text(event, "reason")
    if reason not in admissions:
        return Ignored(f"a reception with reason {reason or 'none'} is not an admission")
    cause = (_text(event, "probableCause") or "").upper()
    data = {"prison": _required(event, "prisonId"), "reason": RECEPTION_REASONS.get(cause, "other")}
    return Mapped((_envelope(event, "received", EventType.PRISON_RECEPTION, data),))


def _identifier_added(event: DomainEvent) -> Mapped:
    crn = event.identifiers.get("crn")
    noms = _text(event, "nomsNumber")
    if crn is None or noms is None:
        raise InvalidDomainEvent("a prison identifier is added to a CRN: both are needed")
    linked = {
        "event_id": event_id(event, "identified"),
        "type": EventType.PERSON_IDENTIFIED,
        "occurred_on": london_date(event.occurred_at).isoformat(),
        "person": {"crn": crn, "nomis": noms},
        "data": {},
    }
    return Mapped((linked,))
