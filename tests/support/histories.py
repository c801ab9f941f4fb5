"""Hypothesis strategies for random histories of one person, as `Event`s or as posted JSON.

Dates are drawn from a short span so that boundaries collide: same-day releases, pickups on
the last day of the window, exits on the day asked about. Every `data` is valid for its type
(CONTRACT §3.2). An event's `seq` is its arrival order and its lineage names it, so
`posted_histories` gives the envelopes in `seq` order with `event_id` = lineage: posting them
in that order reproduces the history.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from hypothesis import strategies as st

from app.domain.events import Event
from app.domain.vocabulary import EventType as ev
from app.domain.vocabulary import ReleaseType

START = date(2025, 1, 1)
PRISONS = ("MDI", "LPI", "HMI")
PROVIDERS = ("PROVIDER-WIGAN", "PROVIDER-LEEDS")
SUBSTANCE_GROUPS = ("opiate", "non_opiate_only", "non_opiate_and_alcohol", "alcohol_only")
CONDITION_CATEGORIES = ("drug_testing", "drug_appointment", "drug_treatment", "alcohol", "other")
_PNC_LETTERS = "ZABCDEFGHJKLMNPQRTUVWXY"


def dates(start: date = START, days: int = 40) -> st.SearchStrategy[date]:
    return st.integers(0, days).map(lambda n: start + timedelta(days=n))


def _maybe(values: tuple[str, ...]) -> st.SearchStrategy[str | None]:
    return st.none() | st.sampled_from(values)


def event_data(kind: str, on: date = START) -> st.SearchStrategy[dict[str, Any]]:
    """A valid `data` for an event of `kind` dated `on`, optional fields sometimes left out."""
    prison = st.sampled_from(PRISONS)
    provider = st.sampled_from(PROVIDERS)
    licence_id = st.sampled_from(("L1", "L2"))
    condition = st.fixed_dictionaries(
        {"category": st.sampled_from(CONDITION_CATEGORIES)}, optional={"code": st.just("C1")}
    )
    shapes: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
        ev.PRISON_RECEPTION: ({"prison": prison}, {"reason": st.sampled_from(("recall", "other"))}),
        ev.PRISON_TREATMENT_STARTED: (
            {"prison": prison, "substance_group": st.sampled_from(SUBSTANCE_GROUPS)},
            {"on_ost": st.booleans()},
        ),
        ev.PRISON_TREATMENT_ENDED: ({}, {"reason": st.sampled_from(("completed", "released"))}),
        ev.PRISON_RELEASED: (
            {"prison": prison, "release_type": st.sampled_from(ReleaseType)},
            {
                "local_authority": _maybe(("E08000010", "E08000035")),
                "probation_region": _maybe(("North West", "Yorkshire and the Humber")),
                "community_provider": _maybe(PROVIDERS),
            },
        ),
        ev.OST_PRESCRIBED: (
            {
                "medication": st.just("methadone"),
                # Mostly days around the prescription; sometimes booked weeks ahead, past the
                # next release.
                "first_dose_on": dates(on - timedelta(days=3), 15) | dates(on, 90),
            },
            {},
        ),
        ev.NALOXONE_ISSUED: ({}, {"setting": st.sampled_from(("prison", "community"))}),
        ev.LICENCE_ACTIVATED: (
            {"licence_id": licence_id, "conditions": st.lists(condition, max_size=3)},
            {},
        ),
        ev.LICENCE_INACTIVATED: ({"licence_id": licence_id}, {}),
        ev.COMMUNITY_REFERRAL_RECEIVED: ({"provider": provider}, {}),
        ev.COMMUNITY_TREATMENT_STARTED: ({"provider": provider}, {}),
        ev.COMMUNITY_TREATMENT_EXITED: (
            {"provider": provider, "reason": st.sampled_from(("dropped_out", "completed"))},
            {},
        ),
        ev.PERSON_DIED: ({}, {"drug_related": st.none() | st.booleans()}),
    }
    required, optional = shapes[kind]
    return st.fixed_dictionaries(required, optional=optional)


@st.composite
def _event(draw: st.DrawFn, kinds: tuple[str, ...], start: date, days: int) -> Event:
    kind = draw(st.sampled_from(kinds))
    on = draw(dates(start, days))
    return Event(seq=-1, type=kind, occurred_on=on, data=draw(event_data(kind, on)), lineage="")


# How often each kind is drawn: enough prison treatment and community starts that most
# releases are in the cohort and many are picked up; deaths rarer, as they end the story.
KIND_WEIGHTS: dict[str, int] = {
    ev.PRISON_RECEPTION: 2,
    ev.PRISON_TREATMENT_STARTED: 5,
    ev.PRISON_TREATMENT_ENDED: 2,
    ev.OST_PRESCRIBED: 2,
    ev.NALOXONE_ISSUED: 2,
    ev.LICENCE_ACTIVATED: 2,
    ev.LICENCE_INACTIVATED: 1,
    ev.COMMUNITY_REFERRAL_RECEIVED: 2,
    ev.COMMUNITY_TREATMENT_STARTED: 5,
    ev.COMMUNITY_TREATMENT_EXITED: 3,
    ev.PERSON_DIED: 1,
}


@st.composite
def histories(
    draw: st.DrawFn,
    *,
    start: date = START,
    days: int = 40,
    max_releases: int = 3,
    max_events: int = 25,
    order_free: bool = False,
    prefix: str = "ev",
) -> list[Event]:
    """One person's counting events: 1..max_releases releases, a prison treatment start a few
    days before some of them, and up to max_events other events of any type but release.

    The list comes in a random order, unrelated to `seq`. With `order_free`, same-date events
    whose ties the rules break by arrival carry the same `data`, so that `seq` decides nothing
    but which lineage names a release.
    """
    weighted = tuple(kind for kind, weight in KIND_WEIGHTS.items() for _ in range(weight))
    releases = [
        draw(_event((ev.PRISON_RELEASED,), start, days))
        for _ in range(draw(st.integers(1, max_releases)))
    ]
    drawn = [
        *releases,
        *(draw(_treated_before(release)) for release in releases if draw(st.booleans())),
        *(draw(_event(weighted, start, days)) for _ in range(draw(st.integers(0, max_events)))),
    ]
    arrival = draw(st.permutations(range(len(drawn))))
    numbered = [
        replace(e, seq=seq, lineage=f"{prefix}-{seq:04d}")
        for e, seq in zip(drawn, arrival, strict=True)
    ]
    if order_free:
        numbered = _agreeing(numbered)
    return draw(st.permutations(numbered))


@st.composite
def _treated_before(draw: st.DrawFn, release: Event) -> Event:
    """A prison treatment start a few days before `release`, so that many releases are in the
    cohort: among events scattered at random, few would be."""
    on = release.occurred_on - timedelta(days=draw(st.integers(0, 5)))
    data = draw(event_data(ev.PRISON_TREATMENT_STARTED, on))
    return Event(seq=-1, type=ev.PRISON_TREATMENT_STARTED, occurred_on=on, data=data, lineage="")


# The rules break same-date ties between these by arrival: the release fields (CONTRACT §3.3)
# and "the latest" prison treatment start or licence activation.
TIE_BROKEN_BY_ARRIVAL = (ev.PRISON_RELEASED, ev.PRISON_TREATMENT_STARTED, ev.LICENCE_ACTIVATED)


def _agreeing(events: list[Event]) -> list[Event]:
    """Give same-date events of a tie-broken type the data of the first of them."""
    first: dict[tuple[str, date], Mapping[str, Any]] = {}
    for event in events:
        if event.type in TIE_BROKEN_BY_ARRIVAL:
            first.setdefault((event.type, event.occurred_on), event.data)
    return [replace(e, data=first.get((e.type, e.occurred_on), e.data)) for e in events]


def by_arrival(events: list[Event]) -> list[Event]:
    return sorted(events, key=lambda e: e.seq)


def _nhs_check(prefix: str) -> int:
    """Modulus 11 over the first nine digits; 10 means no number has this prefix."""
    total = sum(int(d) * w for d, w in zip(prefix, range(10, 1, -1), strict=True))
    return (11 - total % 11) % 11


def _pnc(year: int, serial: int) -> str:
    yy = f"{year % 100:02d}"
    return f"{year}/{serial:07d}{_PNC_LETTERS[int(yy + f'{serial:07d}') % 23]}"


IDENTIFIERS: dict[str, st.SearchStrategy[str]] = {
    "nomis": st.from_regex(r"[A-Z][0-9]{4}[A-Z]{2}", fullmatch=True),
    "crn": st.from_regex(r"[A-Z][0-9]{6}", fullmatch=True),
    "nhs": st.from_regex(r"[0-9]{9}", fullmatch=True)
    .filter(lambda prefix: _nhs_check(prefix) != 10)
    .map(lambda prefix: prefix + str(_nhs_check(prefix))),
    "pnc": st.builds(_pnc, st.integers(1990, 2025), st.integers(1, 9_999_999)),
}


def people() -> st.SearchStrategy[dict[str, str]]:
    """A person's identifiers (§3.1): one to four schemes, every value valid and normalised."""
    return st.fixed_dictionaries({}, optional=IDENTIFIERS).filter(bool)


def envelope(
    event: Event, person: Mapping[str, str], corrects: str | None = None
) -> dict[str, Any]:
    """The JSON body that posts `event` (CONTRACT §3.1); `event_id` is its lineage."""
    return {
        "event_id": event.lineage,
        "type": event.type,
        "occurred_on": event.occurred_on.isoformat(),
        "person": dict(person),
        "data": {key: _json(value) for key, value in event.data.items()},
        "corrects": corrects,
    }


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


@st.composite
def posted_histories(
    draw: st.DrawFn, /, **options: Any
) -> tuple[dict[str, str], list[dict[str, Any]], list[Event]]:
    """A person, the envelopes to post in order, and the events they should become.

    `options` are those of `histories`; give each test its own `prefix` where a store keeps
    event ids across examples, since ids are unique per organisation.
    """
    person = draw(people())
    events = by_arrival(draw(histories(**options)))
    return person, [envelope(event, person) for event in events], events
