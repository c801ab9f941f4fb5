"""A synthetic national year of releases, shaped like the 2019-20 figures (PHOF C20).

25,255 people released between 2019-04-01 and 2020-03-31 after drug or alcohol treatment in
prison; 8,708 of them start community treatment within 3 weeks of release and 2,931 of those are
still in treatment 12 weeks after starting. Around them, in proportions chosen to look like the
inspectorate's findings (see docs/demo.md), the things that go missing: OST first doses not
arranged, naloxone not issued, licences without a drug condition, no referral before release;
some late pickups; and releases of people who were not in treatment at all.

Everything is drawn from a seeded generator, so the same events (and event ids) come out every
time: loading the year twice stores it once.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any, Final

from app.domain.vocabulary import EventType
from app.services.loading import Posting

COHORT: Final = 25_255
PICKED_UP: Final = 8_708
RETAINED: Final = 2_931
OUTSIDE_COHORT: Final = 6_000
FIRST_DAY: Final = date(2019, 4, 1)
DAYS: Final = 366
LAST_DAY: Final = date(2020, 3, 31)

# (prison code, probation region, local authorities released to) — real codes and ONS codes.
PRISONS: Final = (
    ("DMI", "North East", ("E06000047", "E06000005")),
    ("HHI", "North East", ("E06000004", "E06000002")),
    ("NLI", "North East", ("E06000057", "E08000021")),
    ("LPI", "North West", ("E08000012", "E08000011")),
    ("PRI", "North West", ("E07000123", "E06000008")),
    ("STI", "North West", ("E06000049", "E06000050")),
    ("MRI", "Greater Manchester", ("E08000003", "E08000007")),
    ("FBI", "Greater Manchester", ("E08000006", "E08000010")),
    ("LEI", "Yorkshire and the Humber", ("E08000035", "E08000032")),
    ("MDI", "Yorkshire and the Humber", ("E08000017", "E08000018")),
    ("HLI", "Yorkshire and the Humber", ("E06000010", "E06000011")),
    ("BMI", "West Midlands", ("E08000025", "E08000030")),
    ("HEI", "West Midlands", ("E06000019", "E07000236")),
    ("NMI", "East Midlands", ("E06000018", "E07000170")),
    ("LCI", "East Midlands", ("E06000016", "E07000130")),
    ("NWI", "East of England", ("E07000148", "E07000143")),
    ("BFI", "East of England", ("E06000055", "E06000056")),
    ("CDI", "East of England", ("E07000070", "E06000033")),
    ("PVI", "London", ("E09000019", "E09000007")),
    ("WWI", "London", ("E09000032", "E09000022")),
    ("BAI", "London", ("E09000011", "E09000023")),
    ("ELI", "Kent, Surrey and Sussex", ("E07000113", "E06000035")),
    ("LWI", "Kent, Surrey and Sussex", ("E06000043", "E07000063")),
    ("BLI", "South West", ("E06000023", "E06000025")),
    ("EXI", "South West", ("E07000041", "E06000026")),
    ("WCI", "South Central", ("E07000094", "E06000045")),
    ("BCI", "South Central", ("E06000038", "E06000037")),
    ("CFI", "Wales", ("W06000015", "W06000014")),
    ("SWI", "Wales", ("W06000011", "W06000012")),
)
SUBSTANCE_GROUPS: Final = (
    ("opiate", 0.52),
    ("non_opiate_only", 0.20),
    ("non_opiate_and_alcohol", 0.14),
    ("alcohol_only", 0.14),
)
SUPERVISED: Final = (
    ("conditional_release", 0.70),
    ("hdc", 0.08),
    ("post_recall_release", 0.05),
    ("pss", 0.02),
)
UNSUPERVISED: Final = (("end_of_sentence", 0.10), ("remand", 0.05))
ON_OST_IF_OPIATE: Final = 0.80
FIRST_DOSE_ARRANGED: Final = 0.85
NALOXONE_BEFORE_RELEASE: Final = 0.65
DRUG_CONDITION: Final = 0.60
REFERRED_BEFORE_RELEASE: Final = 0.70
LATE_PICKUP: Final = 0.15


def _choose(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    names = [name for name, _ in weighted]
    return rng.choices(names, weights=[weight for _, weight in weighted])[0]


def nomis(i: int) -> str:
    letters = "ABCDEFGHJKLMNPQRTUVWXYZ"
    return f"{letters[i // 10_000 % 23]}{i % 10_000:04d}{letters[i // 230_000 % 23]}D"


def _crn(i: int) -> str:
    return f"{'DEFGHJKLMN'[i // 1_000_000 % 10]}{i % 1_000_000:06d}"


class _Person:
    """Builds one person's events, numbering them under the person's own prefix."""

    def __init__(self, index: int, rng: random.Random) -> None:
        self.index = index
        self.rng = rng
        self.prison, self.region, authorities = rng.choice(PRISONS)
        self.local_authority = rng.choice(authorities)
        self.provider = f"PROVIDER-{self.local_authority}"
        self.person = {"nomis": nomis(index), "crn": _crn(index)}
        self.postings: list[Posting] = []

    def post(self, org: str, kind: str, on: date, data: dict[str, Any]) -> None:
        number = len(self.postings)
        event = {
            "event_id": f"demo-{self.index:06d}-{number:02d}",
            "type": kind,
            "occurred_on": on.isoformat(),
            "person": self.person,
            "data": data,
        }
        self.postings.append(Posting(org, event))

    @property
    def healthcare(self) -> str:
        return f"HMP-{self.prison}-HC"


def _release(p: _Person, released: date, release_type: str) -> None:
    data = {
        "prison": p.prison,
        "release_type": release_type,
        "local_authority": p.local_authority,
        "probation_region": p.region,
        "community_provider": p.provider,
    }
    p.post("HMPPS", EventType.PRISON_RELEASED, released, data)


def _before_release(p: _Person, released: date, group: str, on_ost: bool) -> None:
    rng = p.rng
    if on_ost and rng.random() < FIRST_DOSE_ARRANGED:
        dose = {"medication": "methadone", "first_dose_on": released.isoformat()}
        p.post(p.healthcare, EventType.OST_PRESCRIBED, released - timedelta(3), dose)
    elif on_ost and rng.random() < 0.5:
        late = released + timedelta(rng.randint(3, 20))
        dose = {"medication": "buprenorphine", "first_dose_on": late.isoformat()}
        p.post(p.provider, EventType.OST_PRESCRIBED, late - timedelta(2), dose)
    if group == "opiate":
        if rng.random() < NALOXONE_BEFORE_RELEASE:
            p.post(
                p.healthcare,
                EventType.NALOXONE_ISSUED,
                released - timedelta(1),
                {"setting": "prison"},
            )
        elif rng.random() < 0.3:
            after = released + timedelta(rng.randint(1, 30))
            p.post(p.provider, EventType.NALOXONE_ISSUED, after, {"setting": "community"})
    if rng.random() < REFERRED_BEFORE_RELEASE:
        referred = released - timedelta(rng.randint(1, 20))
        p.post(
            p.provider, EventType.COMMUNITY_REFERRAL_RECEIVED, referred, {"provider": p.provider}
        )


def _licence(p: _Person, released: date) -> None:
    conditions = [{"category": "other", "code": "RESIDE_AT_SPECIFIC_PLACE"}]
    if p.rng.random() < DRUG_CONDITION:
        conditions.append({"category": "drug_testing", "code": "DRUG_TESTING"})
    data = {"licence_id": f"L{p.index:07d}", "conditions": conditions}
    p.post("HMPPS-CVL", EventType.LICENCE_ACTIVATED, released - timedelta(2), data)


def _community(p: _Person, released: date, picked_up: bool, retained: bool) -> None:
    rng, provider = p.rng, {"provider": p.provider}
    if not picked_up:
        if rng.random() < LATE_PICKUP:
            start = released + timedelta(rng.randint(22, 60))
            p.post(p.provider, EventType.COMMUNITY_TREATMENT_STARTED, start, provider)
        return
    start = released + timedelta(rng.randint(0, 21))
    p.post(p.provider, EventType.COMMUNITY_TREATMENT_STARTED, start, provider)
    if retained:
        if rng.random() < 0.5:
            done = start + timedelta(rng.randint(100, 200))
            p.post(
                p.provider,
                EventType.COMMUNITY_TREATMENT_EXITED,
                done,
                {**provider, "reason": "completed"},
            )
        return
    exited = start + timedelta(rng.randint(1, 83))
    reason = _choose(rng, (("dropped_out", 0.7), ("completed", 0.1), ("declined", 0.2)))
    p.post(p.provider, EventType.COMMUNITY_TREATMENT_EXITED, exited, {**provider, "reason": reason})


def _cohort_person(index: int, rng: random.Random, picked_up: bool, retained: bool) -> _Person:
    p = _Person(index, rng)
    released = FIRST_DAY + timedelta(rng.randrange(DAYS))
    group = _choose(rng, SUBSTANCE_GROUPS)
    on_ost = group == "opiate" and rng.random() < ON_OST_IF_OPIATE
    started = released - timedelta(rng.randint(14, 300))
    treatment = {"prison": p.prison, "substance_group": group, "on_ost": on_ost}
    p.post(p.healthcare, EventType.PRISON_TREATMENT_STARTED, started, treatment)
    release_type = _choose(rng, SUPERVISED + UNSUPERVISED)
    if release_type in dict(SUPERVISED):
        _licence(p, released)
    _before_release(p, released, group, on_ost)
    _release(p, released, release_type)
    _community(p, released, picked_up, retained)
    return p


def _outside_person(index: int, rng: random.Random) -> _Person:
    p = _Person(index, rng)
    released = FIRST_DAY + timedelta(rng.randrange(DAYS))
    if rng.random() < 0.5:
        started = released - timedelta(rng.randint(60, 300))
        treatment = {"prison": p.prison, "substance_group": "alcohol_only", "on_ost": False}
        p.post(p.healthcare, EventType.PRISON_TREATMENT_STARTED, started, treatment)
        ended = started + timedelta(rng.randint(20, 50))
        p.post(p.healthcare, EventType.PRISON_TREATMENT_ENDED, ended, {"reason": "completed"})
    _release(p, released, _choose(rng, SUPERVISED + UNSUPERVISED))
    return p


def people(scale: float = 1.0, seed: int = 2020, first: int = 0) -> Iterator[list[Posting]]:
    """Each person's postings, cohort first. `scale` shrinks or grows every count alike;
    `first` numbers the people from there (another batch of people for the benchmark)."""
    rng = random.Random(seed)
    cohort, picked, kept = (round(n * scale) for n in (COHORT, PICKED_UP, RETAINED))
    order = list(range(cohort))
    rng.shuffle(order)
    picked_up, retained = set(order[:picked]), set(order[:kept])
    for n in range(cohort):
        yield _cohort_person(first + n, rng, n in picked_up, n in retained).postings
    for n in range(cohort, cohort + round(OUTSIDE_COHORT * scale)):
        yield _outside_person(first + n, rng).postings


def expected(scale: float = 1.0) -> dict[str, int]:
    """The headline counts the loaded year must give, for this scale."""
    return {
        "released_in_treatment": round(COHORT * scale),
        "picked_up": round(PICKED_UP * scale),
        "retained_12w": round(RETAINED * scale),
    }


def people_count(scale: float = 1.0) -> int:
    return round(COHORT * scale) + round(OUTSIDE_COHORT * scale)
