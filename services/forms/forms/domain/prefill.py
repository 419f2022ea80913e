"""Prefill a new form from the master roster row: facts the PNS may correct, never overwrite."""
from __future__ import annotations

from typing import Any


def blank(value: Any) -> Any:
    """Roster cells are strings; an empty cell means unknown (null)."""
    if isinstance(value, str):
        value = value.strip()
    return value if value not in ("", None) else None


def as_year(value: Any) -> int | None:
    text = blank(value)
    try:
        return int(text) if text is not None else None
    except (TypeError, ValueError):
        return None


def sections_from_roster(row: dict[str, Any], email: str | None = None) -> dict[str, Any]:
    """The form's first sections; what the roster (or the registration's e-mail) does not know stays null."""
    r = {k: blank(v) for k, v in row.items()}
    data_utama = {
        "nama": r.get("nama"), "gelar_depan": r.get("gelar_depan"), "gelar_belakang": r.get("gelar_belakang"),
        "tempat_lahir": r.get("tempat_lahir"), "tanggal_lahir": r.get("tanggal_lahir"),
        "jenis_kelamin": r.get("jenis_kelamin"), "agama": r.get("agama"), "status_perkawinan": None,
        "nik": r.get("nik"), "npwp": None, "alamat": None, "no_hp": None, "email": blank(email),
    }
    data_posisi = {
        "instansi_kode": r.get("instansi_kode"), "unit_kerja": r.get("unit_kerja"),
        "jenis_jabatan": r.get("jenis_jabatan"), "jabatan": r.get("jabatan"), "tmt_jabatan": None,
        "lokasi_kerja": None,
    }
    pendidikan = [{
        "tingkat": r.get("pendidikan_tingkat"), "nama_sekolah": r.get("pendidikan_nama"), "jurusan": None,
        "tahun_lulus": as_year(r.get("tahun_lulus")), "nomor_ijazah": None, "document_id": None,
    }] if r.get("pendidikan_tingkat") or r.get("pendidikan_nama") else []
    golongan = [{
        "golongan": r.get("golongan"), "tmt": r.get("tmt_golongan"), "nomor_sk": None, "tanggal_sk": None,
        "document_id": None,
    }] if r.get("golongan") else []
    jabatan = [{
        "jenis_jabatan": r.get("jenis_jabatan"), "jabatan": r.get("jabatan"), "unit_kerja": r.get("unit_kerja"),
        "tmt": None, "nomor_sk": None, "tanggal_sk": None, "document_id": None,
    }] if r.get("jabatan") else []
    return {
        "data_utama": data_utama, "data_posisi": data_posisi, "riwayat_pendidikan": pendidikan,
        "riwayat_golongan": golongan, "riwayat_jabatan": jabatan, "riwayat_diklat": [],
        "riwayat_penghargaan": [],
    }
