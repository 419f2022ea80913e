"""Pure rules a verifier's review shows: what the PNS changed against the roster, which documents they cite."""
from __future__ import annotations

from typing import Any

ROSTER_FIELDS = {
    "data_utama": ("nama", "gelar_depan", "gelar_belakang", "tempat_lahir", "tanggal_lahir", "jenis_kelamin",
                   "agama", "nik"),
    "data_posisi": ("instansi_kode", "unit_kerja", "jenis_jabatan", "jabatan"),
}


def _plain(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
    return None if value in ("", None) else str(value)


def changes_from_roster(sections: dict[str, Any], roster: dict[str, Any]) -> list[dict]:
    """What the PNS corrected against the master roster, field by field."""
    found = []
    for section, names in ROSTER_FIELDS.items():
        value = sections.get(section) or {}
        for name in names:
            before, after = _plain(roster.get(name)), _plain(value.get(name))
            if before != after:
                found.append({"section": section, "field": name, "from": before, "to": after})
    return found


def referenced_documents(value: Any) -> list[str]:
    """Every `document_id` a submission points to, in order, without repeats."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "document_id" and isinstance(inner, str) and inner:
                found.append(inner)
            else:
                found.extend(referenced_documents(inner))
    elif isinstance(value, list):
        for inner in value:
            found.extend(referenced_documents(inner))
    return list(dict.fromkeys(found))
