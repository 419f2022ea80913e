"""One marshmallow schema per form section, plus the rules that span fields or entries."""
from __future__ import annotations

from datetime import date
from typing import Any

from marshmallow import ValidationError

from forms.domain import LIST_SECTIONS, REQUIRED_SECTIONS
from forms.schemas.fields import Choice, DateText, Email, Nik, Pattern, StrictBool, StrictInt, StrictSchema, Text, today
from pupns.nip import GOLONGAN, TINGKAT_PENDIDIKAN

JENIS_JABATAN = ("struktural", "fungsional_tertentu", "fungsional_umum")
MAX_ENTRIES = 50


class DataUtamaSchema(StrictSchema):
    nama = Text(required=True)
    gelar_depan = Text()
    gelar_belakang = Text()
    tempat_lahir = Text(required=True)
    tanggal_lahir = DateText(required=True)
    jenis_kelamin = Choice(("L", "P"), required=True)
    agama = Text(required=True)
    status_perkawinan = Text()
    nik = Nik(required=True)
    npwp = Pattern(r"^\d{15,16}$", "NPWP harus 15 atau 16 digit", strip=".- ")
    alamat = Text(max_length=500)
    no_hp = Pattern(r"^(\+62\d{8,13}|08\d{7,12})$", "nomor HP harus diawali +62 atau 08", strip=" -")
    email = Email()


class DataPosisiSchema(StrictSchema):
    instansi_kode = Text(required=True)
    unit_kerja = Text(required=True)
    jenis_jabatan = Choice(JENIS_JABATAN, required=True)
    jabatan = Text(required=True)
    tmt_jabatan = DateText()
    lokasi_kerja = Text()


class PendidikanSchema(StrictSchema):
    tingkat = Choice(TINGKAT_PENDIDIKAN, required=True)
    nama_sekolah = Text(required=True)
    jurusan = Text()
    tahun_lulus = StrictInt(required=True)
    nomor_ijazah = Text()
    document_id = Text()


class GolonganSchema(StrictSchema):
    golongan = Choice(GOLONGAN, required=True)
    tmt = DateText(required=True)
    nomor_sk = Text()
    tanggal_sk = DateText()
    document_id = Text()


class JabatanSchema(StrictSchema):
    jenis_jabatan = Choice(JENIS_JABATAN, required=True)
    jabatan = Text(required=True)
    unit_kerja = Text(required=True)
    tmt = DateText()
    nomor_sk = Text()
    tanggal_sk = DateText()
    document_id = Text()


class DiklatSchema(StrictSchema):
    nama = Text(required=True)
    jenis = Text()
    tahun = StrictInt(required=True)
    jam_pelajaran = StrictInt()


class PenghargaanSchema(StrictSchema):
    nama = Text(required=True)
    tahun = StrictInt(required=True)
    nomor_sk = Text()


class DataGuruSchema(StrictSchema):
    nuptk = Text()
    sertifikasi = StrictBool(required=True)
    nomor_sertifikat = Text()
    mata_pelajaran = Text()
    sekolah = Text(required=True)


class DataDokterSchema(StrictSchema):
    nomor_str = Text(required=True)
    tanggal_str = DateText()
    berlaku_sampai = DateText(allow_future=True)  # a licence's expiry is naturally in the future
    spesialisasi = Text()
    nomor_sip = Text()


class DataStakeholderSchema(StrictSchema):
    bapertarum_nomor = Text()
    bpjs_kesehatan_nomor = Pattern(r"^\d{13}$", "nomor BPJS Kesehatan harus 13 digit")
    kpe_nomor = Text()
    taspen_nomor = Text()


SCHEMAS: dict[str, type[StrictSchema]] = {
    "data_utama": DataUtamaSchema, "data_posisi": DataPosisiSchema, "riwayat_pendidikan": PendidikanSchema,
    "riwayat_golongan": GolonganSchema, "riwayat_jabatan": JabatanSchema, "riwayat_diklat": DiklatSchema,
    "riwayat_penghargaan": PenghargaanSchema, "data_guru": DataGuruSchema, "data_dokter": DataDokterSchema,
    "data_stakeholder": DataStakeholderSchema,
}
YEAR_FIELDS = {"riwayat_pendidikan": "tahun_lulus", "riwayat_diklat": "tahun", "riwayat_penghargaan": "tahun"}


def validate_section(key: str, value: Any, birth_date: date | None) -> tuple[Any, dict[str, list[str]]]:
    """Clean a section value; returns (value, {}) or (None, {dotted.path: [reasons]})."""
    schema = SCHEMAS[key]
    if key in LIST_SECTIONS:
        if not isinstance(value, list):
            return None, {key: ["harus berupa daftar"]}
        if key in REQUIRED_SECTIONS and not value:
            return None, {key: ["minimal satu entri"]}
        if len(value) > MAX_ENTRIES:
            return None, {key: [f"paling banyak {MAX_ENTRIES} entri"]}
    try:
        clean = schema(many=key in LIST_SECTIONS).load(value)
    except ValidationError as exc:
        return None, flatten(key, exc.messages)
    errors = check_years(key, clean, birth_date)
    if key == "riwayat_golongan":
        errors.update(check_rank_history(clean))
    return (None, errors) if errors else (clean, {})


def check_years(key: str, entries: Any, birth_date: date | None) -> dict[str, list[str]]:
    """Years lie between the birth year + 5 and this year."""
    name = YEAR_FIELDS.get(key)
    if not name:
        return {}
    low, high = (birth_date.year + 5 if birth_date else 1900), today().year
    return {f"{key}.{i}.{name}": [f"tahun harus antara {low} dan {high}"]
            for i, entry in enumerate(entries)
            if entry.get(name) is not None and not low <= entry[name] <= high}


def check_rank_history(entries: list[dict]) -> dict[str, list[str]]:
    """Rank history is chronological and never goes down."""
    errors: dict[str, list[str]] = {}
    for i in range(1, len(entries)):
        before, entry = entries[i - 1], entries[i]
        if entry["tmt"] < before["tmt"]:
            errors[f"riwayat_golongan.{i}.tmt"] = ["TMT harus urut dari yang terlama"]
        if int(entry["golongan"]) < int(before["golongan"]):
            errors[f"riwayat_golongan.{i}.golongan"] = ["golongan tidak boleh turun"]
    return errors


def flatten(prefix: str, messages: Any) -> dict[str, list[str]]:
    """marshmallow's nested error dict as dotted paths (`riwayat_golongan.0.tmt`)."""
    if isinstance(messages, list):
        return {prefix: [str(m) for m in messages]}
    flat: dict[str, list[str]] = {}
    for name, inner in messages.items():
        path = prefix if name == "_schema" else f"{prefix}.{name}"
        for sub, reasons in flatten(path, inner).items():
            flat.setdefault(sub, []).extend(reasons)
    return flat


def completeness(sections: dict[str, Any], applicable: list[str], birth_date: date | None) -> dict[str, list[str]]:
    """Reasons, per section, why the sections as stored cannot be submitted yet."""
    problems: dict[str, list[str]] = {}
    for key in applicable:
        if key not in sections:
            continue  # missing required sections are the aggregate's rule
        _, errors = validate_section(key, sections[key], birth_date)
        if errors:
            problems[key] = ["belum lengkap atau tidak valid: " + ", ".join(sorted(errors))]
    return problems
