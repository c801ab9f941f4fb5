"""Licences as Create and Vary a Licence (CVL) publishes them, as joinup's `licence.activated`
(CONTRACT §8): which of a licence's additional conditions are about drugs. No I/O: the intake
fetches the licence (app/services/hmpps/cvl.py) that `hmpps.map_event` asked for.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from app.domain.hmpps import InvalidDomainEvent, LicenceToFetch
from app.domain.vocabulary import EventType

# CVL additional licence condition codes (CONTRACT §8) -> condition category.
DRUG_TESTING: Final = frozenset(
    {"322bb3f7-2ee1-46aa-ae1c-3f743efd4327", "fda24aa9-a2b0-4d49-9c87-23b0a7be4013"}
)
DRUG_APPOINTMENT: Final = frozenset(
    {"62c83b80-2223-4562-a195-0670f4072088", "a7c57e4e-30fe-4797-9fe7-70a35dbd7b65"}
)
DRUG_TREATMENT: Final = "89e656ec-77e8-4832-acc4-6ec05d3e9a98"
# Addressing a dependency: drug treatment, unless its text names only alcohol or solvents.
DEPENDENCY: Final = "f1d2888b-be86-4732-8874-44cb867865c2"
_ALCOHOL_WORDS: Final = re.compile(r"\b(alcohol|solvents?)\b", re.IGNORECASE)
_DRUG_WORDS: Final = re.compile(r"\b(drugs?|substances?|controlled|opiates?)\b", re.IGNORECASE)


def condition_category(code: str | None, text: str | None) -> str:
    """The joinup category of one CVL additional licence condition."""
    if code in DRUG_TESTING:
        return "drug_testing"
    if code in DRUG_APPOINTMENT:
        return "drug_appointment"
    if code == DRUG_TREATMENT:
        return "drug_treatment"
    if code == DEPENDENCY:
        words = text or ""
        only_alcohol = _ALCOHOL_WORDS.search(words) and not _DRUG_WORDS.search(words)
        return "alcohol" if only_alcohol else "drug_treatment"
    return "other"


def licence_conditions(licence: Any) -> list[dict[str, Any]]:
    """One condition per additional AP and PSS condition of a licence in CVL's public shape."""
    conditions = licence.get("conditions") if isinstance(licence, dict) else None
    if not isinstance(conditions, dict):
        raise InvalidDomainEvent("the licence has no conditions object")
    found: list[dict[str, Any]] = []
    for part in ("apConditions", "pssConditions"):
        additional = _additional(conditions.get(part), part)
        for item in additional:
            code = item.get("code")
            code = code if isinstance(code, str) and code else None
            text = item.get("text") if isinstance(item.get("text"), str) else None
            condition: dict[str, Any] = {"category": condition_category(code, text)}
            if code is not None:
                condition["code"] = code
            found.append(condition)
    return found


def _additional(part: Any, name: str) -> Sequence[Mapping[str, Any]]:
    if part is None:
        return []
    items = part.get("additional", []) if isinstance(part, dict) else None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise InvalidDomainEvent(f"conditions.{name}.additional must be a list of objects")
    return items


def licence_event(request: LicenceToFetch, licence: Any) -> dict[str, Any]:
    """The `licence.activated` event of an activation, from the licence CVL answered."""
    return {
        "event_id": request.event_id,
        "type": EventType.LICENCE_ACTIVATED,
        "occurred_on": request.occurred_on.isoformat(),
        "person": dict(request.person),
        "data": {"licence_id": request.licence_id, "conditions": licence_conditions(licence)},
    }
