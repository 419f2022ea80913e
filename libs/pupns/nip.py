"""NIP and NIK rules of the spec (pure domain code, no framework)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

GOLONGAN = {
    "11": "I/a Juru Muda", "12": "I/b Juru Muda Tingkat I", "13": "I/c Juru", "14": "I/d Juru Tingkat I",
    "21": "II/a Pengatur Muda", "22": "II/b Pengatur Muda Tingkat I", "23": "II/c Pengatur",
    "24": "II/d Pengatur Tingkat I", "31": "III/a Penata Muda", "32": "III/b Penata Muda Tingkat I",
    "33": "III/c Penata", "34": "III/d Penata Tingkat I", "41": "IV/a Pembina", "42": "IV/b Pembina Tingkat I",
    "43": "IV/c Pembina Utama Muda", "44": "IV/d Pembina Utama Madya", "45": "IV/e Pembina Utama",
}
TINGKAT_PENDIDIKAN = ("SD", "SMP", "SMA", "D1", "D2", "D3", "D4", "S1", "S2", "S3")


@dataclass(frozen=True)
class Nip:
    """A parsed, valid NIP."""

    value: str
    birth_date: date
    tmt_cpns: date
    sex: str  # "L" or "P"
    sequence: int


def normalize_nip(raw: str) -> str:
    """Strip spaces (and nothing else), as the spec allows."""
    return raw.replace(" ", "") if isinstance(raw, str) else raw


def age_on(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def parse_nip(raw: str, today: date | None = None) -> Nip:
    """Parse a NIP or raise ValueError with an Indonesian reason."""
    today = today or date.today()
    value = normalize_nip(raw)
    if not isinstance(value, str) or len(value) != 18 or not (value.isascii() and value.isdigit()):
        raise ValueError("NIP harus terdiri dari 18 digit angka")
    try:
        born = date(int(value[0:4]), int(value[4:6]), int(value[6:8]))
    except ValueError:
        raise ValueError("tanggal lahir pada NIP tidak valid") from None
    month = int(value[12:14])
    if not 1 <= month <= 12:
        raise ValueError("bulan TMT CPNS pada NIP tidak valid")
    try:
        tmt = date(int(value[8:12]), month, 1)
    except ValueError:
        raise ValueError("TMT CPNS pada NIP tidak valid") from None
    if tmt > today:
        raise ValueError("TMT CPNS pada NIP berada di masa depan")
    if not 18 <= age_on(born, tmt) <= 46:
        raise ValueError("usia saat TMT CPNS harus antara 18 dan 46 tahun")
    if value[14] not in "12":
        raise ValueError("digit jenis kelamin pada NIP harus 1 atau 2")
    if value[15:18] == "000":
        raise ValueError("nomor urut pada NIP tidak boleh 000")
    return Nip(value, born, tmt, "L" if value[14] == "1" else "P", int(value[15:18]))


def nik_birth_and_sex(nik: str) -> tuple[date, str] | None:
    """Birth date and sex encoded in a NIK (DD+40 for women), or None if unreadable."""
    if not (isinstance(nik, str) and len(nik) == 16 and nik.isascii() and nik.isdigit()):
        return None
    day, month, yy = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    sex = "P" if day > 40 else "L"
    day = day - 40 if day > 40 else day
    return _resolve_century(day, month, yy), sex


def _resolve_century(day: int, month: int, yy: int) -> date | None:
    this_year = date.today().year % 100
    century = 2000 if yy <= this_year else 1900
    try:
        return date(century + yy, month, day)
    except ValueError:
        return None


def validate_nik(nik: str) -> str | None:
    """Reason the NIK is malformed, or None when it is 16 digits with a readable birth date."""
    parsed = nik_birth_and_sex(nik)
    if parsed is None:
        return "NIK harus terdiri dari 16 digit angka"
    if parsed[0] is None:
        return "tanggal lahir pada NIK tidak valid"
    return None


def nik_agrees_with_nip(nik: str, nip: Nip) -> bool:
    """True when the NIK's birth date (DDMMYY) and sex match the NIP's."""
    parsed = nik_birth_and_sex(nik)
    if parsed is None or parsed[0] is None:
        return False
    born, sex = parsed
    same_date = (born.day, born.month, born.year % 100) == (nip.birth_date.day, nip.birth_date.month,
                                                            nip.birth_date.year % 100)
    return same_date and sex == nip.sex


def make_nik(region: str, born: date, sex: str, serial: int) -> str:
    """Compose a NIK (used by the synthetic roster generator and tests)."""
    day = born.day + (40 if sex == "P" else 0)
    return f"{region[:6]:0>6}{day:02d}{born.month:02d}{born.year % 100:02d}{serial % 10000:04d}"


def make_nip(born: date, tmt_cpns: date, sex: str, sequence: int = 1) -> str:
    """Compose a NIP (used by the generator and tests)."""
    return f"{born:%Y%m%d}{tmt_cpns:%Y%m}{'1' if sex == 'L' else '2'}{sequence:03d}"
