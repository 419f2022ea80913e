"""Anomalies: flags for verifiers computed from a form's sections, never silent rejections."""
from __future__ import annotations

from datetime import date
from typing import Any

from pupns.nip import Nip, age_on, nik_agrees_with_nip, parse_nip
from pupns.personal.codec import is_sealed

RETIREMENT_AGE = {"fungsional_tertentu": 60}
DEFAULT_RETIREMENT_AGE = 58
NIK_DUPLICATE = "nik_duplicate"
VERIFIER_ONLY = frozenset({NIK_DUPLICATE})  # telling a PNS that some other NIP holds a NIK would leak it


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        return None


def _flag(code: str, section: str, message: str) -> dict[str, str]:
    return {"code": code, "section": section, "message": message}


def nik_duplicate_flag() -> dict[str, str]:
    return _flag(NIK_DUPLICATE, "data_utama", "NIK yang sama tercatat pada NIP lain.")


def nik_mismatch(nip: str, nik: Any, today: date) -> bool | None:
    """Whether a clear NIK disagrees with the NIP's birth date and sex; None when there is no NIK to compare."""
    try:
        parsed = parse_nip(nip, today)
    except ValueError:
        return None
    if not nik or is_sealed(nik):
        return None
    return not nik_agrees_with_nip(nik, parsed)


def compute_anomalies(nip: str, sections: dict[str, Any], roster: dict[str, Any], today: date,
                      nik_shared: bool = False, nik_mismatched: bool | None = None) -> list[dict]:
    """Every anomaly of one form, as [{code, section, message}] in a stable order.

    `nik_shared`: another NIP's form states the same NIK (looked up by the caller in `forms.adapters.nik_index`).
    `nik_mismatched`: the NIK rule's result as the command found it on the clear NIK (the sections hold it
    sealed); None computes it from `data_utama.nik` when that is in clear.
    """
    try:
        parsed: Nip | None = parse_nip(nip, today)
    except ValueError:
        parsed = None
    utama = sections.get("data_utama") or {}
    posisi = sections.get("data_posisi") or {}
    found: list[dict] = []
    born = _date(utama.get("tanggal_lahir")) or (parsed.birth_date if parsed else None)
    if nik_mismatched is None:
        nik_mismatched = nik_mismatch(nip, utama.get("nik"), today)
    if parsed and nik_mismatched:
        found.append(_flag("nik_nip_mismatch", "data_utama",
                           "Tanggal lahir atau jenis kelamin pada NIK tidak sesuai dengan NIP."))
    if nik_shared:
        found.append(nik_duplicate_flag())
    if parsed and _date(utama.get("tanggal_lahir")) not in (None, parsed.birth_date):
        found.append(_flag("birth_date_mismatch", "data_utama", "Tanggal lahir berbeda dengan tanggal lahir pada NIP."))
    tmt_cpns = _date(roster.get("tmt_cpns")) or (parsed.tmt_cpns if parsed else None)
    if born and tmt_cpns and age_on(born, tmt_cpns) < 18:
        found.append(_flag("tmt_cpns_under_18", "data_utama", "TMT CPNS sebelum usia 18 tahun."))
    if rank_history_irregular(sections.get("riwayat_golongan") or []):
        found.append(_flag("rank_history_irregular", "riwayat_golongan",
                           "Riwayat golongan tidak urut atau golongan menurun."))
    jenis = posisi.get("jenis_jabatan") or roster.get("jenis_jabatan")
    limit = RETIREMENT_AGE.get(jenis or "", DEFAULT_RETIREMENT_AGE)
    if born and age_on(born, today) >= limit:
        found.append(_flag("past_retirement_age", "data_posisi",
                           f"Telah melewati batas usia pensiun ({limit} tahun) tetapi masih tercatat aktif."))
    return found


def for_pns(anomalies: list[dict]) -> list[dict]:
    """The flags a PNS sees on their own form (verifiers see them all)."""
    return [a for a in anomalies if a.get("code") not in VERIFIER_ONLY]


def rank_history_irregular(entries: list[dict]) -> bool:
    """True when TMTs go backwards or a rank is lower than the one before it."""
    previous: tuple[str, int] | None = None
    for entry in entries:
        tmt, code = entry.get("tmt"), entry.get("golongan")
        if not tmt or not str(code or "").isdigit():
            continue
        if previous and (tmt < previous[0] or int(code) < previous[1]):
            return True
        previous = (tmt, int(code))
    return False
