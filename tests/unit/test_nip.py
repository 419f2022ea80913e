"""pupns.nip: every NIP and NIK rule of the spec, with good and bad cases."""
from __future__ import annotations

from datetime import date

import pytest

from pupns.nip import (
    GOLONGAN,
    TINGKAT_PENDIDIKAN,
    make_nik,
    make_nip,
    nik_agrees_with_nip,
    nik_birth_and_sex,
    normalize_nip,
    parse_nip,
    validate_nik,
)

TODAY = date(2026, 11, 24)
GOOD = "199001012015011001"  # born 1990-01-01, TMT CPNS 2015-01, male, sequence 001


def rejects(raw, reason: str | None = None) -> None:
    with pytest.raises(ValueError) as info:
        parse_nip(raw, TODAY)
    if reason:
        assert reason in str(info.value)


def test_good_nip_is_parsed_into_its_parts():
    nip = parse_nip(GOOD, TODAY)
    assert (nip.value, nip.birth_date, nip.tmt_cpns, nip.sex, nip.sequence) == (
        GOOD, date(1990, 1, 1), date(2015, 1, 1), "L", 1)


def test_spaces_are_stripped_and_nothing_else():
    assert parse_nip("19900101 201501 1 001", TODAY).value == GOOD
    assert parse_nip(" 199001012015011001 ", TODAY).value == GOOD
    assert normalize_nip("1 2") == "12"
    for raw in ("19900101-201501-1-001", "19900101\t2015011001", "19900101\u00a02015011001", "19900101.201501.1.001"):
        rejects(raw, "18 digit")


@pytest.mark.parametrize("raw", ["19900101201501100", "1990010120150110011", "", "19900101201501100A"])
def test_exactly_18_digits(raw):
    rejects(raw, "18 digit")


@pytest.mark.parametrize("raw", [
    "١٩٩٠٠١٠١٢٠١٥٠١١٠٠١",  # Arabic-Indic digits
    "１９９０01012015011001",  # full-width digits
    "۱۹۹۰01012015011001",  # Extended Arabic-Indic
])
def test_non_ascii_digits_are_rejected(raw):
    rejects(raw, "18 digit")


def test_non_string_is_rejected():
    rejects(199001012015011001)
    rejects(None)


@pytest.mark.parametrize("raw", ["199002302015011001", "199013012015011001", "199000012015011001",
                                 "198902292015011001", "000001012015011001"])
def test_birth_date_must_be_real(raw):
    rejects(raw, "tanggal lahir")


def test_leap_day_birth_is_real():
    assert parse_nip("199202292015011001", TODAY).birth_date == date(1992, 2, 29)


@pytest.mark.parametrize("month", ["00", "13", "99"])
def test_tmt_month_must_be_01_to_12(month):
    rejects(f"199001012015{month}1001", "bulan TMT")


@pytest.mark.parametrize("month", ["01", "12"])
def test_tmt_month_bounds_are_accepted(month):
    assert parse_nip(f"199001012015{month}1001", TODAY).tmt_cpns.month == int(month)


def test_age_at_tmt_between_18_and_46():
    assert parse_nip(make_nip(date(2000, 1, 1), date(2018, 1, 1), "L"), TODAY)  # exactly 18
    rejects(make_nip(date(2000, 2, 1), date(2018, 1, 1), "L"), "usia")  # 17 years 11 months
    assert parse_nip(make_nip(date(1969, 2, 1), date(2016, 1, 1), "P"), TODAY)  # 46 years 11 months
    rejects(make_nip(date(1969, 1, 1), date(2016, 1, 1), "P"), "usia")  # 47
    rejects(make_nip(date(1990, 1, 1), date(2000, 1, 1), "L"), "usia")  # 10


def test_tmt_not_in_future():
    assert parse_nip(make_nip(date(1990, 1, 1), date(2026, 11, 1), "L"), TODAY)  # this month
    rejects(make_nip(date(1990, 1, 1), date(2026, 12, 1), "L"), "masa depan")
    rejects(make_nip(date(1990, 1, 1), date(2027, 1, 1), "L"), "masa depan")


@pytest.mark.parametrize("digit, sex", [("1", "L"), ("2", "P")])
def test_sex_digit_1_or_2(digit, sex):
    assert parse_nip(f"19900101201501{digit}001", TODAY).sex == sex


@pytest.mark.parametrize("digit", ["0", "3", "9"])
def test_other_sex_digits_are_rejected(digit):
    rejects(f"19900101201501{digit}001", "jenis kelamin")


def test_sequence_not_000():
    rejects("199001012015011000", "000")
    assert parse_nip("199001012015011999", TODAY).sequence == 999


def test_make_nip_round_trips():
    raw = make_nip(date(1985, 7, 9), date(2010, 3, 1), "P", 12)
    assert raw == "198507092010032012"
    nip = parse_nip(raw, TODAY)
    assert (nip.birth_date, nip.tmt_cpns, nip.sex, nip.sequence) == (date(1985, 7, 9), date(2010, 3, 1), "P", 12)


# -- NIK ----------------------------------------------------------------------------------
def test_nik_encodes_birth_date_with_day_plus_40_for_women():
    man = make_nik("327301", date(1990, 1, 5), "L", 1)
    woman = make_nik("327301", date(1990, 1, 5), "P", 1)
    assert man == "3273010501900001" and woman == "3273014501900001"
    assert nik_birth_and_sex(man) == (date(1990, 1, 5), "L")
    assert nik_birth_and_sex(woman) == (date(1990, 1, 5), "P")


def test_nik_century_is_resolved_from_two_digits():
    assert nik_birth_and_sex(make_nik("327301", date(2001, 3, 4), "L", 7))[0] == date(2001, 3, 4)
    assert nik_birth_and_sex(make_nik("327301", date(1975, 3, 4), "L", 7))[0] == date(1975, 3, 4)


@pytest.mark.parametrize("nik", ["327301050190000", "32730105019000011", "32730105019000A1", "",
                                 "３２７３０１０５０１９０００１"])
def test_nik_must_be_16_ascii_digits(nik):
    assert validate_nik(nik) == "NIK harus terdiri dari 16 digit angka"


@pytest.mark.parametrize("nik", ["3273013201900001", "3273017201900001", "3273010013900001", "3273010000900001",
                                 "3273013002900001"])
def test_nik_birth_date_must_be_real(nik):
    assert validate_nik(nik) == "tanggal lahir pada NIK tidak valid"


def test_valid_nik_has_no_problem():
    assert validate_nik("3273010501900001") is None
    assert validate_nik("3273017101900001") is None  # 31 Jan, woman


def test_nik_agrees_with_nip_birth_date_and_sex():
    nip = parse_nip(make_nip(date(1990, 1, 5), date(2015, 1, 1), "P"), TODAY)
    assert nik_agrees_with_nip(make_nik("327301", date(1990, 1, 5), "P", 1), nip)
    assert not nik_agrees_with_nip(make_nik("327301", date(1990, 1, 5), "L", 1), nip)  # no +40
    assert not nik_agrees_with_nip(make_nik("327301", date(1990, 1, 6), "P", 1), nip)  # other day
    assert not nik_agrees_with_nip(make_nik("327301", date(1991, 1, 5), "P", 1), nip)  # other year
    assert not nik_agrees_with_nip("32730145019000", nip)  # malformed


def test_reference_tables():
    assert len(GOLONGAN) == 17 and GOLONGAN["11"].startswith("I/a") and GOLONGAN["45"] == "IV/e Pembina Utama"
    assert TINGKAT_PENDIDIKAN == ("SD", "SMP", "SMA", "D1", "D2", "D3", "D4", "S1", "S2", "S3")


def test_tmt_year_zero_gets_an_indonesian_reason():
    rejects("199001010000011001", "TMT CPNS")
