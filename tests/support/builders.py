"""Hand-written histories of one person, read like the contract's worked examples.

Each helper makes one event with the required `data` filled in; `history` numbers them in the
order given, which is their arrival order (`seq`), and gives each its own lineage unless one
was named (to play a correction, give the corrected event the same lineage).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from app.domain.events import Event
from app.domain.vocabulary import EventType as ev

Day = date | str


def day(value: Day) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def event(kind: str, on: Day, *, lineage: str = "", **data: Any) -> Event:
    """An event not yet placed in a history (`seq` -1 until `history` numbers it)."""
    return Event(seq=-1, type=kind, occurred_on=day(on), data=data, lineage=lineage)


def history(*events: Event) -> list[Event]:
    """The events with `seq` in the order given and a lineage for each that has none."""
    return [replace(e, seq=i, lineage=e.lineage or f"ev-{i:04d}") for i, e in enumerate(events)]


def released(on: Day, release_type: str = "conditional_release", **data: Any) -> Event:
    data.setdefault("prison", "MDI")
    return event(ev.PRISON_RELEASED, on, release_type=release_type, **data)


def reception(on: Day, reason: str = "recall") -> Event:
    return event(ev.PRISON_RECEPTION, on, prison="MDI", reason=reason)


def treatment_started(on: Day, substance_group: str = "opiate", on_ost: bool = False) -> Event:
    return event(
        ev.PRISON_TREATMENT_STARTED,
        on,
        prison="MDI",
        substance_group=substance_group,
        on_ost=on_ost,
    )


def treatment_ended(on: Day, reason: str = "completed") -> Event:
    return event(ev.PRISON_TREATMENT_ENDED, on, reason=reason)


def ost_prescribed(on: Day, first_dose_on: Day, medication: str = "methadone") -> Event:
    return event(ev.OST_PRESCRIBED, on, medication=medication, first_dose_on=day(first_dose_on))


def naloxone(on: Day, setting: str = "prison") -> Event:
    return event(ev.NALOXONE_ISSUED, on, setting=setting)


def licence_activated(on: Day, licence_id: str = "L1", *categories: str) -> Event:
    conditions = [{"category": category} for category in categories]
    return event(ev.LICENCE_ACTIVATED, on, licence_id=licence_id, conditions=conditions)


def licence_inactivated(on: Day, licence_id: str = "L1") -> Event:
    return event(ev.LICENCE_INACTIVATED, on, licence_id=licence_id)


def referral(on: Day, provider: str = "PROVIDER-WIGAN") -> Event:
    return event(ev.COMMUNITY_REFERRAL_RECEIVED, on, provider=provider)


def community_started(on: Day, provider: str = "PROVIDER-WIGAN") -> Event:
    return event(ev.COMMUNITY_TREATMENT_STARTED, on, provider=provider)


def community_exited(on: Day, reason: str = "dropped_out") -> Event:
    return event(ev.COMMUNITY_TREATMENT_EXITED, on, provider="PROVIDER-WIGAN", reason=reason)


def died(on: Day, drug_related: bool | None = None) -> Event:
    return event(ev.PERSON_DIED, on, drug_related=drug_related)


def example_a() -> list[Event]:
    """CONTRACT §4.1 example A: opiate, on OST, everything arranged, picked up on 2026-03-09."""
    return history(
        treatment_started("2026-01-15", "opiate", on_ost=True),
        referral("2026-02-20"),
        ost_prescribed("2026-02-27", first_dose_on="2026-03-03"),
        licence_activated("2026-03-01", "L1", "drug_testing"),
        naloxone("2026-03-02"),
        released("2026-03-02", "conditional_release"),
        community_started("2026-03-09"),
    )


def example_b() -> list[Event]:
    """CONTRACT §4.1 example B: opiate, on OST, nothing arranged, picked up late on 2026-04-10."""
    return history(
        treatment_started("2026-01-15", "opiate", on_ost=True),
        released("2026-03-02", "hdc"),
        community_started("2026-04-10"),
    )
