"""A small fixed data set for the scoped-key tests, and keys with a scope.

As of `AS_OF` the releases are (prison, released_on, probation region, local authority,
community provider):

    MDI_ONLY    MDI 2026-03-02  North West  E08000010  PROVIDER-WIGAN
    LPI_ONLY    LPI 2026-03-05  North West  E08000001  PROVIDER-BOLTON
    BOTH        MDI 2026-01-10  North West  E08000010  PROVIDER-WIGAN
                LPI 2026-04-01  London      E09000033  PROVIDER-LONDON
    NORTH_EAST  HMI 2026-02-01  North East  -          -               (not in the cohort)

NO_RELEASE has events but no release; LATER is released from MDI after AS_OF (2026-07-15).
All but NORTH_EAST's release are in the cohort (in treatment at release).
"""

from __future__ import annotations

from typing import Any

from tests.support.api import Api, bearer, key_body
from tests.support.envelopes import event, nomis

AS_OF = "2026-06-30"
MDI_ONLY, LPI_ONLY, BOTH, NORTH_EAST, NO_RELEASE, LATER = (nomis(n) for n in range(1, 7))
SUBMITTER_ORG = "PROVIDER-A"

_PLACES = {
    "MDI": ("North West", "E08000010", "PROVIDER-WIGAN"),
    "LPI": ("North West", "E08000001", "PROVIDER-BOLTON"),
    "LPI-London": ("London", "E09000033", "PROVIDER-LONDON"),
}
# The releases as of AS_OF: (person, prison, released_on, in the cohort).
RELEASES = [
    (MDI_ONLY, "MDI", "2026-03-02", True),
    (LPI_ONLY, "LPI", "2026-03-05", True),
    (BOTH, "MDI", "2026-01-10", True),
    (BOTH, "LPI", "2026-04-01", True),
    (NORTH_EAST, "HMI", "2026-02-01", False),
]


def _released(event_id: str, who: str, on: str, prison: str, place: str) -> dict[str, Any]:
    region, authority, provider = _PLACES[place]
    return event(
        "prison.released",
        event_id,
        person={"nomis": who},
        occurred_on=on,
        prison=prison,
        probation_region=region,
        local_authority=authority,
        community_provider=provider,
    )


def _treated(event_id: str, who: str, on: str, prison: str) -> dict[str, Any]:
    return event(
        "prison.treatment.started", event_id, person={"nomis": who}, occurred_on=on, prison=prison
    )


def _north_east_release() -> dict[str, Any]:
    released = event("prison.released", "ne-rel", person={"nomis": NORTH_EAST})
    released["occurred_on"] = "2026-02-01"
    released["data"] = {
        "prison": "HMI",
        "release_type": "end_of_sentence",
        "probation_region": "North East",
    }
    return released


def envelopes() -> list[dict[str, Any]]:
    return [
        _treated("mdi-tx", MDI_ONLY, "2026-01-15", "MDI"),
        _released("mdi-rel", MDI_ONLY, "2026-03-02", "MDI", "MDI"),
        _treated("lpi-tx", LPI_ONLY, "2026-01-20", "LPI"),
        _released("lpi-rel", LPI_ONLY, "2026-03-05", "LPI", "LPI"),
        _treated("both-tx1", BOTH, "2025-12-01", "MDI"),
        _released("both-rel1", BOTH, "2026-01-10", "MDI", "MDI"),
        _treated("both-tx2", BOTH, "2026-03-01", "LPI"),
        _released("both-rel2", BOTH, "2026-04-01", "LPI", "LPI-London"),
        event(
            "community.treatment.started",
            "both-pickup",
            person={"nomis": BOTH},
            occurred_on="2026-04-05",
        ),
        _north_east_release(),
        event("naloxone.issued", "none-nal", person={"nomis": NO_RELEASE}),
        _released("later-rel", LATER, "2026-07-15", "MDI", "MDI"),
    ]


def post_all(api: Api, headers: dict[str, str] | None = None) -> None:
    answer = api.batch(envelopes(), headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] == len(envelopes()), answer.text


def scoped_key(
    api: Api, scope: dict[str, Any] | None, *roles: str, org: str = "READER-X"
) -> tuple[str, dict[str, str]]:
    """A new key with this scope: its key_id and its Authorization header."""
    body = key_body(org, *roles, scope=scope)
    answer = api.client.post("/v1/keys", json=body, headers=api.admin)
    assert answer.status_code == 201, answer.text
    return answer.json()["key_id"], bearer(answer.json()["secret"])


def releases(api: Api, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    """The whole gap list as of AS_OF (unless `params` say otherwise), walked page by page."""
    items: list[dict[str, Any]] = []
    query: dict[str, Any] = {"as_of": AS_OF, "limit": 2, **params}
    while True:
        answer = api.client.get("/v1/releases", params=query, headers=headers)
        assert answer.status_code == 200, answer.text
        items += answer.json()["items"]
        if answer.json()["next_cursor"] is None:
            return items
        query["cursor"] = answer.json()["next_cursor"]


def pairs(records: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(r["prison"], r["released_on"]) for r in records]


_FIELDS = {
    "prisons": "prison",
    "probation_regions": "probation_region",
    "local_authorities": "local_authority",
    "community_providers": "community_provider",
}


def admits(scope: dict[str, list[str]], record: dict[str, Any]) -> bool:
    """The scope rule, written out for the tests: AND across dimensions, OR within one."""
    for dimension, allowed in scope.items():
        wanted = {v.upper() for v in allowed} if dimension == "prisons" else set(allowed)
        if record[_FIELDS[dimension]] not in wanted:
            return False
    return True
