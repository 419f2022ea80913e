"""Test data builders with **overrides (one place for the sample PNS and the message envelope)."""
from __future__ import annotations

import itertools
import random
import uuid
from datetime import UTC, date, datetime, timedelta

from pupns.nip import make_nik, make_nip

BORN = date(1985, 3, 12)
NIP = make_nip(BORN, date(2010, 1, 1), "L")


# Serials from a random start: NIPs differ from run to run and never repeat within one.
_SERIALS = itertools.count(random.randrange(999 * 3650))


def fresh_nip(kind: str = "1") -> str:
    """A NIP no other call in this test process returns (serials 001-999, then the next birth day); `kind` is the
    gender digit, which some modules use to keep their NIPs apart."""
    n = next(_SERIALS)
    return f"{date(1980, 1, 1) + timedelta(days=n // 999):%Y%m%d}200501{kind}{n % 999 + 1:03d}"


def roster_row(**overrides) -> dict:
    """Budi, a Pranata Komputer at Kota Bandung (instansi A1): a valid roster row."""
    row = {"nip": NIP, "nik": make_nik("320101", BORN, "L", 1), "nama": "Budi", "gelar_depan": "",
           "gelar_belakang": "S.Kom", "tempat_lahir": "Bandung", "tanggal_lahir": "1985-03-12",
           "jenis_kelamin": "L", "agama": "Islam", "instansi_kode": "A1", "instansi_nama": "Kota Bandung",
           "unit_kerja": "Diskominfo", "golongan": "32", "tmt_golongan": "2014-04-01",
           "jenis_jabatan": "fungsional_tertentu", "jabatan": "Pranata Komputer", "tmt_cpns": "2010-01-01",
           "pendidikan_tingkat": "", "pendidikan_nama": "", "tahun_lulus": ""}
    return {**row, **overrides}


def upstream_message(kind: str, data: dict, nip: str | None = None, version: int = 1, **overrides) -> dict:
    """An event as another service receives it from the relay (pupns.relay.internal_message shape)."""
    message = {"event_id": uuid.uuid4().hex, "stream": f"x-{nip}", "version": version, "type": kind,
               "schema_version": 1, "occurred_at": datetime.now(UTC).isoformat(), "nip": nip,
               "instansi_kode": "A1", "data": data,
               "meta": {"actor": nip or "admin", "role": "pns" if nip else "admin"}}
    return {**message, **overrides}
