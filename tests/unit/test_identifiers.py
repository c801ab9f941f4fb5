"""Identifier normalisation and check digits (CONTRACT §3.1)."""

from __future__ import annotations

import pytest
from hypothesis import given

from app.domain.identifiers import (
    InvalidIdentifier,
    local_authority,
    normalise,
    prison,
    probation_region,
    validate,
)
from app.domain.vocabulary import ProbationRegion
from tests.support.histories import IDENTIFIERS

PNC_LETTERS = "ZABCDEFGHJKLMNPQRTUVWXY"


def pnc_letter(year: str, serial: str) -> str:
    """The contract's formula, written out independently of the code under test."""
    return PNC_LETTERS[int(year[-2:] + serial.zfill(7)) % 23]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  a1234bc ", "A1234BC"),
        ("943 476 5919", "9434765919"),
        ("\t2012/0052834k\n", "2012/0052834K"),
        ("x 123 456", "X123456"),
    ],
)
def test_normalise_trims_upper_cases_and_removes_spaces(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


@pytest.mark.parametrize("raw", ["9434765919", "943 476 5919", " 9434765919 "])
def test_nhs_number_with_a_valid_check_digit(raw: str) -> None:
    assert validate("nhs", raw) == "9434765919"


@pytest.mark.parametrize(
    "raw",
    [
        "9434765918",  # wrong check digit
        "9434765910",
        "9434765911",
        "4934765919",  # two digits swapped
        "943476591",  # nine digits
        "94347659190",  # eleven digits
        "943476591X",
        "",
    ],
)
def test_nhs_number_invalid(raw: str) -> None:
    with pytest.raises(InvalidIdentifier):
        validate("nhs", raw)


@pytest.mark.parametrize("last", "0123456789")
def test_nhs_prefix_whose_check_digit_would_be_10_is_never_valid(last: str) -> None:
    # 100000001: weighted sum 12, 11 - 12 % 11 = 10, so no tenth digit makes it valid.
    with pytest.raises(InvalidIdentifier, match="check digit"):
        validate("nhs", "100000001" + last)


def test_nhs_check_digit_11_means_0() -> None:
    # 000000000 sums to 0, 11 - 0 = 11, which stands for 0.
    assert validate("nhs", "0000000000") == "0000000000"


@pytest.mark.parametrize(
    "raw",
    ["2012/0052834K", "12/52834K", "12/0052834K", "2012/52834k", " 12/ 52834k", "12/00052834K"],
)
def test_pnc_in_either_year_form_is_one_pnc_in_its_long_form(raw: str) -> None:
    assert validate("pnc", raw) == "2012/0052834K"


@pytest.mark.parametrize(
    ("this_year", "raw", "expected"),
    [
        # A two-digit year is this century's up to this year's two digits, else the last's.
        (2026, "26/1234567", "2026/1234567"),
        (2026, "27/1234567", "1927/1234567"),
        (2026, "99/123456", "1999/0123456"),
        (2026, "00/7", "2000/0000007"),
        (2100, "00/7", "2100/0000007"),
        (2026, "1927/1234567", "1927/1234567"),
    ],
)
def test_pnc_two_digit_year_takes_the_contracts_century(
    this_year: int, raw: str, expected: str
) -> None:
    year, serial = raw.split("/")
    letter = pnc_letter(year, serial)
    assert validate("pnc", raw + letter, this_year=this_year) == expected + letter


@pytest.mark.parametrize(("year", "serial"), [("99", "123456"), ("2003", "7"), ("1985", "1234567")])
def test_pnc_letter_from_the_formula_is_valid_and_every_other_letter_is_not(
    year: str, serial: str
) -> None:
    right = pnc_letter(year, serial)
    long_year = year if len(year) == 4 else f"19{year}"
    assert validate("pnc", f"{year}/{serial}{right}") == f"{long_year}/{serial.zfill(7)}{right}"
    for wrong in sorted(set(PNC_LETTERS) - {right}):
        with pytest.raises(InvalidIdentifier, match="check letter"):
            validate("pnc", f"{year}/{serial}{wrong}")


def test_pnc_12_52834_takes_the_letter_k() -> None:
    assert pnc_letter("12", "52834") == "K"


@pytest.mark.parametrize(
    "raw", ["2012/0052834L", "2012-0052834K", "201/0052834K", "2012/K", "20120052834K"]
)
def test_pnc_invalid(raw: str) -> None:
    with pytest.raises(InvalidIdentifier):
        validate("pnc", raw)


@pytest.mark.parametrize(("scheme", "raw"), [("nomis", "a1234bc"), ("crn", " x123456 ")])
def test_nomis_and_crn_valid(scheme: str, raw: str) -> None:
    assert validate(scheme, raw) == normalise(raw)


@pytest.mark.parametrize(
    ("scheme", "raw"),
    [
        ("nomis", "A123BC"),
        ("nomis", "A12345BC"),
        ("nomis", "11234BC"),
        ("nomis", "A1234B1"),
        ("crn", "X12345"),
        ("crn", "X1234567"),
        ("crn", "1123456"),
        ("crn", "XX23456"),
    ],
)
def test_nomis_and_crn_invalid(scheme: str, raw: str) -> None:
    with pytest.raises(InvalidIdentifier):
        validate(scheme, raw)


def test_unknown_scheme() -> None:
    with pytest.raises(InvalidIdentifier, match="unknown"):
        validate("passport", "123")


@given(IDENTIFIERS["nhs"])
def test_generated_nhs_numbers_are_valid(value: str) -> None:
    assert validate("nhs", value) == value


@given(IDENTIFIERS["pnc"])
def test_generated_pnc_numbers_are_valid(value: str) -> None:
    assert validate("pnc", value) == value


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("North East", "North East"),
        ("north east", "North East"),
        ("NORTHEAST", "North East"),
        ("  north-east ", "North East"),
        ("Kent Surrey & Sussex", "Kent, Surrey and Sussex"),
        ("kent, surrey and sussex", "Kent, Surrey and Sussex"),
        ("yorkshire & the humber", "Yorkshire and the Humber"),
        ("East of England", "East of England"),
        ("wales", "Wales"),
    ],
)
def test_probation_region_in_any_case_spacing_or_and(raw: str, expected: str) -> None:
    assert probation_region(raw) == expected


def test_the_twelve_probation_regions() -> None:
    assert len(ProbationRegion) == 12
    assert all(probation_region(region.value) == region.value for region in ProbationRegion)


@pytest.mark.parametrize("raw", ["North", "Narnia", "", "North East England", "Durham"])
def test_probation_region_unknown(raw: str) -> None:
    with pytest.raises(InvalidIdentifier, match="one of: North East; North West"):
        probation_region(raw)


@pytest.mark.parametrize(
    ("raw", "expected"), [("e06000047", "E06000047"), (" W06000015", "W06000015")]
)
def test_local_authority_ons_code(raw: str, expected: str) -> None:
    assert local_authority(raw) == expected


@pytest.mark.parametrize("raw", ["County Durham", "E0600004", "X06000047", "E060000471", ""])
def test_local_authority_name_or_malformed_code_refused(raw: str) -> None:
    with pytest.raises(InvalidIdentifier, match="ONS code"):
        local_authority(raw)


def test_prison_code_upper_cased() -> None:
    assert prison(" mdi ") == "MDI"


@pytest.mark.parametrize("raw", ["MD", "MDIX", "M1I", "HMP Manchester"])
def test_prison_code_malformed(raw: str) -> None:
    with pytest.raises(InvalidIdentifier, match="3-letter code"):
        prison(raw)
