"""Links to a person's handover page."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

from app.domain.identifiers import SCHEMES


def person_link(identifiers: Mapping[str, str]) -> str | None:
    """The handover page of the person these identifiers name, by the first scheme they have
    (NOMIS number, then CRN, NHS number, PNC); a PNC keeps its slash."""
    for scheme in SCHEMES:
        value = identifiers.get(scheme)
        if value:
            return f"/people/{scheme}/{quote(value, safe='/')}"
    return None
