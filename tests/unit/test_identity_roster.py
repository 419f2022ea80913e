"""Roster rows: validation per column, CSV parsing with line numbers, anomaly flags."""
from __future__ import annotations

from datetime import date

import pytest

from identity.domain.roster import parse_roster, row_anomalies, validate_row
from pupns.nip import make_nik, make_nip
from pupns_cli.generate import generate_rows, roster_csv

TODAY = date(2026, 11, 24)


def row(**overrides) -> dict:
    base = next(generate_rows(1, seed=3))
    return {**base, **overrides}


def test_generated_rows_are_valid_and_deterministic():
    assert roster_csv(50, seed=4) == roster_csv(50, seed=4)
    assert roster_csv(50, seed=4) != roster_csv(50, seed=5)
    parsed = parse_roster(roster_csv(2000, seed=4), TODAY)
    assert len(parsed.rows) == 2000 and parsed.rejected == []
    jabatan = {r["jabatan"] for _, r in parsed.rows}
    assert any(j.startswith("Guru") for j in jabatan) and any(j.startswith("Dokter") for j in jabatan)
    assert len({r["instansi_kode"] for _, r in parsed.rows}) >= 3
    assert any(row_anomalies(r, TODAY) for _, r in parsed.rows)


@pytest.mark.parametrize("change, column", [
    ({"nip": "123"}, "nip"), ({"nik": "12"}, "nik"), ({"tanggal_lahir": "01-01-1990"}, "tanggal_lahir"),
    ({"tmt_cpns": "2020-02-30"}, "tmt_cpns"), ({"jenis_kelamin": "X"}, "jenis_kelamin"),
    ({"golongan": "15"}, "golongan"), ({"jenis_jabatan": "honorer"}, "jenis_jabatan"),
    ({"pendidikan_tingkat": "S4"}, "pendidikan_tingkat"), ({"tahun_lulus": "dua ribu"}, "tahun_lulus"),
    ({"nama": "  "}, "nama"), ({"instansi_kode": ""}, "instansi_kode"),
])
def test_row_rules_name_the_column(change, column):
    clean, error = validate_row(row(**change), TODAY)
    assert clean is None and error[0] == column


def test_sex_must_agree_with_nip():
    original = row()
    other = "P" if original["jenis_kelamin"] == "L" else "L"
    assert validate_row({**original, "jenis_kelamin": other}, TODAY)[1][0] == "jenis_kelamin"


def test_valid_row_is_normalised():
    clean, error = validate_row(row(nip=" " + row()["nip"], tahun_lulus="2010", gelar_depan=None), TODAY)
    assert error is None and clean["tahun_lulus"] == 2010 and clean["gelar_depan"] == ""


def test_columns_in_any_order_and_line_numbers():
    text = roster_csv(3, seed=8)
    lines = text.splitlines()
    header = lines[0].split(",")
    order = list(reversed(range(len(header))))
    shuffled = [",".join(line.split(",")[i] for i in order) for line in lines]
    shuffled.insert(2, shuffled[1].replace(shuffled[1].split(",")[-1], "12"))  # NIP 12: bad
    parsed = parse_roster("\n".join(shuffled) + "\n", TODAY)
    assert len(parsed.rows) == 3
    assert [(r.line, r.column) for r in parsed.rejected] == [(3, "nip")]


def test_duplicate_nip_in_one_file_keeps_the_first():
    lines = roster_csv(2, seed=8).splitlines()
    parsed = parse_roster("\n".join(lines + [lines[1]]) + "\n", TODAY)
    assert len(parsed.rows) == 2 and parsed.rejected[0].line == 4 and "baris 2" in parsed.rejected[0].reason


def test_header_must_name_required_and_known_columns():
    assert parse_roster("nip,nama\n", TODAY).rejected[0].reason == "kolom wajib tidak ada"
    assert parse_roster("nip,warna\n", TODAY).rejected[0].column == "warna"
    assert parse_roster("", TODAY).rejected[0].line == 1


def codes(r: dict) -> set[str]:
    return {a["code"] for a in row_anomalies(r, TODAY)}


def test_anomalies():
    born, tmt = date(1990, 5, 6), date(2015, 1, 1)
    good = row(nip=make_nip(born, tmt, "L"), nik=make_nik("327301", born, "L", 1), jenis_kelamin="L",
               tanggal_lahir=born.isoformat(), tmt_cpns=tmt.isoformat(), jenis_jabatan="struktural")
    assert codes(good) == set()
    assert codes({**good, "nik": make_nik("327301", born, "P", 1)}) == {"nik_nip_mismatch"}
    assert codes({**good, "tanggal_lahir": "1990-05-07"}) == {"birth_date_mismatch"}
    assert codes({**good, "tmt_cpns": "2007-01-01"}) == {"tmt_cpns_under_18"}
    old, old_tmt = date(1966, 1, 1), date(1990, 1, 1)
    retiree = {**good, "nip": make_nip(old, old_tmt, "L"), "nik": make_nik("327301", old, "L", 1),
               "tanggal_lahir": old.isoformat(), "tmt_cpns": old_tmt.isoformat()}
    assert codes(retiree) == {"past_retirement_age"}  # 60 > 58
    assert codes({**retiree, "jenis_jabatan": "fungsional_tertentu"}) == {"past_retirement_age"}  # 60 >= 60
    young = date(1968, 1, 1)
    teacher = {**retiree, "nip": make_nip(young, old_tmt, "L"), "nik": make_nik("327301", young, "L", 1),
               "tanggal_lahir": young.isoformat(), "jenis_jabatan": "fungsional_tertentu"}
    assert codes(teacher) == set()  # 58 but a teacher retires at 60
    assert codes({**teacher, "jenis_jabatan": "fungsional_umum"}) == {"past_retirement_age"}


def test_a_roster_row_is_compared_by_a_keyed_digest_that_sees_every_character():
    from identity.adapters.roster_view import row_fingerprint
    from identity.commands.roster import ClearRow, anomaly_codes
    from pupns.blind_index import blind_index

    [row] = generate_rows(1, seed=7)
    entry = ClearRow.of(2, row)
    assert entry.nik_bi == blind_index("nik", row["nik"]) and row["nik"] not in entry.fingerprint
    assert row_fingerprint(dict(row)) == entry.fingerprint
    assert row_fingerprint({**row, "nama": row["nama"].replace(" ", "", 1)}) != entry.fingerprint
    assert anomaly_codes({**row, "nik": None}) == []  # an erased NIK: no rule runs on it
