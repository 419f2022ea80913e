"""Master roster rows: CSV reading, per-row validation and anomaly flags (pure domain code)."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from identity.domain.rules import iso_date
from pupns.nip import GOLONGAN, TINGKAT_PENDIDIKAN, age_on, nik_agrees_with_nip, parse_nip, validate_nik

COLUMNS = ("nip", "nik", "nama", "gelar_depan", "gelar_belakang", "tempat_lahir", "tanggal_lahir",
           "jenis_kelamin", "agama", "instansi_kode", "instansi_nama", "unit_kerja", "golongan", "tmt_golongan",
           "jenis_jabatan", "jabatan", "tmt_cpns", "pendidikan_tingkat", "pendidikan_nama", "tahun_lulus")
REQUIRED = ("nip", "nik", "nama", "tanggal_lahir", "jenis_kelamin", "instansi_kode", "instansi_nama",
            "unit_kerja", "golongan", "jenis_jabatan", "jabatan", "tmt_cpns")
DATE_COLUMNS = ("tanggal_lahir", "tmt_golongan", "tmt_cpns")
JENIS_JABATAN = ("struktural", "fungsional_tertentu", "fungsional_umum")
RETIREMENT_AGE = {"fungsional_tertentu": 60}
DEFAULT_RETIREMENT_AGE = 58

ANOMALY_MESSAGES = {
    "nik_nip_mismatch": "NIK tidak sesuai dengan tanggal lahir atau jenis kelamin pada NIP",
    "nik_duplicate": "NIK yang sama tercatat pada lebih dari satu NIP",
    "birth_date_mismatch": "tanggal lahir berbeda dengan tanggal lahir pada NIP",
    "tmt_cpns_under_18": "TMT CPNS sebelum usia 18 tahun",
    "past_retirement_age": "melewati batas usia pensiun tetapi masih tercatat",
}


@dataclass(frozen=True)
class Rejection:
    """A roster line that was not loaded, and why."""

    line: int
    column: str
    reason: str

    def as_dict(self) -> dict:
        return {"line": self.line, "column": self.column, "reason": self.reason}


@dataclass(frozen=True)
class ParsedRoster:
    """Valid rows (with their line numbers) and rejections, in file order."""

    rows: list[tuple[int, dict]]
    rejected: list[Rejection]


def anomaly(code: str) -> dict:
    return {"code": code, "message": ANOMALY_MESSAGES[code]}


def validate_row(row: dict, today: date | None = None) -> tuple[dict | None, tuple[str, str] | None]:
    """Normalised row, or (None, (column, reason)) for the first rule it breaks."""
    today = today or date.today()
    clean = {col: (row.get(col) or "").strip() for col in COLUMNS}
    for col in REQUIRED:
        if not clean[col]:
            return None, (col, "wajib diisi")
    try:
        nip = parse_nip(clean["nip"], today)
    except ValueError as exc:
        return None, ("nip", str(exc))
    clean["nip"] = nip.value
    nik_problem = validate_nik(clean["nik"])
    if nik_problem:
        return None, ("nik", nik_problem)
    for col in DATE_COLUMNS:
        if clean[col]:
            try:
                iso_date(clean[col])
            except ValueError:
                return None, (col, "tanggal harus berformat YYYY-MM-DD dan valid")
    if clean["jenis_kelamin"] not in ("L", "P"):
        return None, ("jenis_kelamin", "harus L atau P")
    if clean["jenis_kelamin"] != nip.sex:
        return None, ("jenis_kelamin", "tidak sesuai dengan digit jenis kelamin pada NIP")
    if clean["golongan"] not in GOLONGAN:
        return None, ("golongan", "kode golongan tidak dikenal")
    if clean["jenis_jabatan"] not in JENIS_JABATAN:
        return None, ("jenis_jabatan", "harus salah satu dari " + ", ".join(JENIS_JABATAN))
    if clean["pendidikan_tingkat"] and clean["pendidikan_tingkat"] not in TINGKAT_PENDIDIKAN:
        return None, ("pendidikan_tingkat", "harus salah satu dari " + ", ".join(TINGKAT_PENDIDIKAN))
    if clean["tahun_lulus"]:
        if not (clean["tahun_lulus"].isascii() and clean["tahun_lulus"].isdigit()):
            return None, ("tahun_lulus", "harus berupa tahun (angka)")
        clean["tahun_lulus"] = int(clean["tahun_lulus"])
    else:
        clean["tahun_lulus"] = None
    return clean, None


def row_anomalies(row: dict, today: date | None = None) -> list[dict]:
    """Flags a verifier should see for one valid row (the NIK-shared-by-two-NIPs flag is set by the read model)."""
    today = today or date.today()
    nip = parse_nip(row["nip"], today)
    found = []
    if not nik_agrees_with_nip(row["nik"], nip):
        found.append(anomaly("nik_nip_mismatch"))
    born = iso_date(row["tanggal_lahir"])
    if born != nip.birth_date:
        found.append(anomaly("birth_date_mismatch"))
    if age_on(born, iso_date(row["tmt_cpns"])) < 18:
        found.append(anomaly("tmt_cpns_under_18"))
    if age_on(born, today) >= RETIREMENT_AGE.get(row["jenis_jabatan"], DEFAULT_RETIREMENT_AGE):
        found.append(anomaly("past_retirement_age"))
    return found


def _records(text: str) -> Iterator[tuple[int, dict]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    start = 2
    for record in reader:
        yield start, record
        start = reader.line_num + 1


def header_problem(text: str) -> Rejection | None:
    """A header that is missing required columns or names unknown ones rejects the whole file."""
    first = next(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline="")), None)
    if not first:
        return Rejection(1, "", "berkas kosong atau tanpa baris judul")
    header = [h.strip() for h in first]
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        return Rejection(1, unknown[0], "kolom tidak dikenal")
    missing = [col for col in REQUIRED if col not in header]
    if missing:
        return Rejection(1, missing[0], "kolom wajib tidak ada")
    return None


def parse_roster(text: str, today: date | None = None) -> ParsedRoster:
    """Validate every row of a roster CSV; duplicate NIPs within one file keep the first."""
    problem = header_problem(text)
    if problem:
        return ParsedRoster([], [problem])
    rows: list[tuple[int, dict]] = []
    rejected: list[Rejection] = []
    seen: dict[str, int] = {}
    for line, record in _records(text):
        if None in record:
            rejected.append(Rejection(line, "", "jumlah kolom melebihi baris judul"))
            continue
        record = {(k or "").strip(): v for k, v in record.items()}
        clean, error = validate_row(record, today)
        if error:
            rejected.append(Rejection(line, *error))
        elif clean["nip"] in seen:
            rejected.append(Rejection(line, "nip", f"NIP sudah ada pada baris {seen[clean['nip']]}"))
        else:
            seen[clean["nip"]] = line
            rows.append((line, clean))
    return ParsedRoster(rows, rejected)
