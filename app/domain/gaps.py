"""What went missing at release: the four flags of rule 7 that are raised on the release day.

Each check answers None when nothing is missing, else (code, raised_on, resolved_on); the
record decides which of them to list as of its date. `resolved_on` is drawn only from events
dated before the next release, so a gap is closed by this release's care, never the next one's.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Final

from app.domain.events import DRUG_CONDITION_CATEGORIES, Event
from app.domain.rules import Rules
from app.domain.timeline import Release, Timeline, after
from app.domain.vocabulary import SUPERVISED_RELEASE_TYPES, EventType, FlagCode

OPIATE: Final = "opiate"

Gap = tuple[str, date, date | None]  # code, raised_on, resolved_on


def gaps(timeline: Timeline, release: Release, treatment: Event, rules: Rules) -> list[Gap]:
    """The gaps of a counted release, in the contract's flag order."""
    found = (
        _no_ost(timeline, release, treatment, rules),
        _no_naloxone(timeline, release, treatment),
        _no_licence_condition(timeline, release),
        _no_referral(timeline, release),
    )
    return [gap for gap in found if gap is not None]


def _no_ost(timeline: Timeline, release: Release, treatment: Event, rules: Rules) -> Gap | None:
    if not treatment.data.get("on_ost", False):
        return None
    grace_end = release.on + timedelta(days=rules.ost_grace_days)
    if timeline.first_dose(release.on, after(grace_end)) is not None:
        return None
    # A dose booked for a later day resolves the flag then, though the booking is known now.
    return FlagCode.NO_OST, release.on, timeline.first_dose(after(grace_end), release.next)


def _no_naloxone(timeline: Timeline, release: Release, treatment: Event) -> Gap | None:
    if treatment.data["substance_group"] != OPIATE:
        return None
    if timeline.has(EventType.NALOXONE_ISSUED, after(release.previous), after(release.on)):
        return None
    return (
        FlagCode.NO_NALOXONE,
        release.on,
        timeline.first(EventType.NALOXONE_ISSUED, after(release.on), release.next),
    )


def _no_licence_condition(timeline: Timeline, release: Release) -> Gap | None:
    if release.release_type not in SUPERVISED_RELEASE_TYPES:
        return None
    licence = _licence_in_force(timeline, release)
    if licence is not None and _has_drug_condition(licence):
        return None
    variations = timeline.of(EventType.LICENCE_ACTIVATED, after(release.on), release.next)
    resolved_on = next((e.occurred_on for e in variations if _has_drug_condition(e)), None)
    return FlagCode.NO_LICENCE_CONDITION, release.on, resolved_on


def _licence_in_force(timeline: Timeline, release: Release) -> Event | None:
    """The latest activation before release whose licence was not inactivated in [its date, r].

    A variation is a later activation of the same licence, so it replaces the conditions
    simply by being later.
    """
    activations = timeline.of(
        EventType.LICENCE_ACTIVATED, after(release.previous), after(release.on)
    )
    for activation in reversed(activations):
        licence_id = activation.data["licence_id"]
        ended = timeline.of(
            EventType.LICENCE_INACTIVATED, activation.occurred_on, after(release.on)
        )
        if all(e.data["licence_id"] != licence_id for e in ended):
            return activation
    return None


def _has_drug_condition(activation: Event) -> bool:
    conditions = activation.data["conditions"]
    return any(c["category"] in DRUG_CONDITION_CATEGORIES for c in conditions)


def _no_referral(timeline: Timeline, release: Release) -> Gap | None:
    if timeline.has(
        EventType.COMMUNITY_REFERRAL_RECEIVED, after(release.previous), after(release.on)
    ):
        return None
    # A start shows the provider has the person, whether or not a referral was recorded.
    contacts = (
        timeline.first(kind, release.on, release.next)
        for kind in (EventType.COMMUNITY_REFERRAL_RECEIVED, EventType.COMMUNITY_TREATMENT_STARTED)
    )
    return FlagCode.NO_REFERRAL, release.on, min(filter(None, contacts), default=None)
