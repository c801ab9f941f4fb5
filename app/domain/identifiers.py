"""Person identifiers: normalisation and check-digit validation (CONTRACT §3.1)."""

from __future__ import annotations

import re
from typing import Final

from app.domain.vocabulary import Scheme

# Plain strings: they key the JSON object of a person's identifiers, and orjson takes str keys only.
SCHEMES: Final[tuple[str, ...]] = tuple(scheme.value for scheme in Scheme)

_NOMIS = re.compile(r"[A-Z][0-9]{4}[A-Z]{2}")
_CRN = re.compile(r"[A-Z][0-9]{6}")
_NHS = re.compile(r"[0-9]{10}")
# The serial is "N+" (CONTRACT §3.1); real ones have at most 7 digits. Capped at 26 so that every
# valid value fits the 32 characters an identifier is stored in.
_PNC = re.compile(r"(?P<year>[0-9]{2}|[0-9]{4})/(?P<serial>[0-9]{1,26})(?P<check>[A-Z])")
_PNC_LETTERS: Final = "ZABCDEFGHJKLMNPQRTUVWXY"


class InvalidIdentifier(ValueError):
    """The value is not a well-formed identifier of its scheme."""


def normalise(value: str) -> str:
    """Trim, upper-case and remove every space, as §3.1 prescribes before validation."""
    return "".join(value.split()).upper()


def _nhs_is_valid(digits: str) -> bool:
    total = sum(int(d) * weight for d, weight in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(digits[9])


def _pnc_is_valid(value: str) -> bool:
    match = _PNC.fullmatch(value)
    if match is None:
        return False
    year, serial = match["year"][-2:], match["serial"]
    return _PNC_LETTERS[int(year + serial.zfill(7)) % 23] == match["check"]


def validate(scheme: str, raw: str) -> str:
    """Return the normalised value, or raise InvalidIdentifier saying what is wrong."""
    value = normalise(raw)
    if scheme == "nomis" and _NOMIS.fullmatch(value):
        return value
    if scheme == "crn" and _CRN.fullmatch(value):
        return value
    if scheme == "nhs":
        if not _NHS.fullmatch(value):
            raise InvalidIdentifier("an NHS number is 10 digits")
        if not _nhs_is_valid(value):
            raise InvalidIdentifier("the NHS number's check digit is wrong")
        return value
    if scheme == "pnc":
        if not _PNC.fullmatch(value):
            raise InvalidIdentifier("a PNC number is YY/NNNNNNNC or YYYY/NNNNNNNC")
        if not _pnc_is_valid(value):
            raise InvalidIdentifier("the PNC number's check letter is wrong")
        return value
    if scheme not in SCHEMES:
        raise InvalidIdentifier(f"unknown identifier scheme {scheme!r}")
    shapes = {"nomis": "a letter, 4 digits, 2 letters", "crn": "a letter and 6 digits"}
    raise InvalidIdentifier(f"a {scheme.upper()} is {shapes[scheme]}")
