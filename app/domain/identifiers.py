"""Identifiers and codes, normalised once at the edge (CONTRACT §3.1): a person's identifiers
(normalisation and check digits, a PNC in its long form) and the codes that place a release
(prison, ONS local authority, probation region). Events, filters, scopes and lookups all pass
through these functions, so one place is spelled one way everywhere it is stored or compared.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Final

from app.domain.vocabulary import ProbationRegion, Scheme

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
    """The value is not a well-formed identifier (or code) of its kind; the message says the
    accepted form."""


def normalise(value: str) -> str:
    """Trim, upper-case and remove every space, as §3.1 prescribes before validation."""
    return "".join(value.split()).upper()


def _nhs_is_valid(digits: str) -> bool:
    total = sum(int(d) * weight for d, weight in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(digits[9])


def _pnc(value: str, this_year: int | None) -> str:
    """A PNC in its long form `YYYY/NNNNNNNC`: a two-digit year is this century's when it is
    at most this year's two digits, else the last century's; the serial is zero-padded to 7."""
    match = _PNC.fullmatch(value)
    if match is None:
        raise InvalidIdentifier("a PNC number is YY/NNNNNNNC or YYYY/NNNNNNNC")
    year, serial = match["year"], match["serial"].lstrip("0").zfill(7)
    if _PNC_LETTERS[int(year[-2:] + serial) % 23] != match["check"]:
        raise InvalidIdentifier("the PNC number's check letter is wrong")
    if len(year) == 2:
        # The contract's own date rule, not the service clock: the pivot moves once a year.
        now = this_year if this_year is not None else date.today().year
        century = now // 100 * 100 if int(year) <= now % 100 else now // 100 * 100 - 100
        year = str(century + int(year))
    return f"{year}/{serial}{match['check']}"


def validate(scheme: str, raw: str, *, this_year: int | None = None) -> str:
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
        return _pnc(value, this_year)
    if scheme not in SCHEMES:
        raise InvalidIdentifier(f"unknown identifier scheme {scheme!r}: use nomis, crn, nhs or pnc")
    shapes = {"nomis": "a letter, 4 digits, 2 letters", "crn": "a letter and 6 digits"}
    raise InvalidIdentifier(f"a {scheme.upper()} is {shapes[scheme]}")


_PRISON = re.compile(r"[A-Z]{3}")
_ONS_CODE = re.compile(r"[EWSN][0-9]{8}")


def prison(raw: str) -> str:
    """A prison's 3-letter code, upper-cased."""
    value = raw.strip().upper()
    if not _PRISON.fullmatch(value):
        raise InvalidIdentifier("a prison is given by its 3-letter code, such as MDI")
    return value


def local_authority(raw: str) -> str:
    """An ONS local authority code, upper-cased: a name such as "County Durham" is refused."""
    value = raw.strip().upper()
    if not _ONS_CODE.fullmatch(value):
        raise InvalidIdentifier(
            "a local authority is given by its ONS code: E, W, S or N and 8 digits, "
            "such as E06000047"
        )
    return value


def _region_key(value: str) -> str:
    """A region's name with case, spaces, punctuation and "and"/"&" taken out."""
    words = re.findall(r"[a-z0-9]+", value.lower().replace("&", " and "))
    return "".join(word for word in words if word != "and")


_REGIONS: Final = {_region_key(region): region.value for region in ProbationRegion}


def probation_region(raw: str) -> str:
    """One of the twelve probation regions, in its contract spelling, however it was written."""
    region = _REGIONS.get(_region_key(raw))
    if region is None:
        known = "; ".join(region.value for region in ProbationRegion)
        raise InvalidIdentifier(f"a probation region is one of: {known}")
    return region


# Each place a release names, by the field that names it.
PLACES: Final = {
    "prison": prison,
    "local_authority": local_authority,
    "probation_region": probation_region,
}
