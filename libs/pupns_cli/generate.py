"""A realistic synthetic master roster: deterministic for a seed, with a few deliberate anomalies."""
from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterator
from datetime import date, timedelta

from pupns.nip import make_nik, make_nip

COLUMNS = ("nip", "nik", "nama", "gelar_depan", "gelar_belakang", "tempat_lahir", "tanggal_lahir",
           "jenis_kelamin", "agama", "instansi_kode", "instansi_nama", "unit_kerja", "golongan", "tmt_golongan",
           "jenis_jabatan", "jabatan", "tmt_cpns", "pendidikan_tingkat", "pendidikan_nama", "tahun_lulus")

# (instansi_kode, instansi_nama, NIK region, city of birth most people share)
INSTANSI = (
    ("3273", "Pemerintah Kota Bandung", "327301", "Bandung"),
    ("3578", "Pemerintah Kota Surabaya", "357801", "Surabaya"),
    ("3374", "Pemerintah Kota Semarang", "337401", "Semarang"),
    ("3204", "Pemerintah Kabupaten Bandung", "320401", "Soreang"),
    ("5171", "Pemerintah Kota Denpasar", "517101", "Denpasar"),
    ("K024", "Kementerian Kesehatan", "317101", "Jakarta"),
    ("K023", "Kementerian Pendidikan Dasar dan Menengah", "317102", "Jakarta"),
)
MALE = ("Agus", "Budi", "Dedi", "Eko", "Fajar", "Hendra", "Irfan", "Joko", "Kurniawan", "Made", "Nyoman",
        "Rizky", "Slamet", "Teguh", "Wahyu", "Yusuf", "Bambang", "Dimas", "Gilang", "Asep", "Ujang", "Ketut")
FEMALE = ("Ani", "Dewi", "Fitri", "Indah", "Kartika", "Lestari", "Maya", "Nur", "Putri", "Ratna", "Sri",
          "Siti", "Tuti", "Wulan", "Yuni", "Ayu", "Rina", "Endang", "Ni Luh", "Neng", "Dian", "Retno")
FAMILY = ("Santoso", "Wijaya", "Saputra", "Hidayat", "Nugroho", "Setiawan", "Pratama", "Kusuma", "Permana",
          "Suryadi", "Hasibuan", "Siregar", "Nasution", "Wibowo", "Rahayu", "Lestari", "Sulistyo", "Gunawan",
          "Firmansyah", "Maulana", "Purnomo", "Haryanto", "Susanti", "Handayani")
AGAMA = ("Islam",) * 8 + ("Kristen", "Katolik", "Hindu", "Buddha")
# (jenis_jabatan, jabatan, unit_kerja, education levels that fit)
JABATAN = (
    ("fungsional_tertentu", "Guru Ahli Pertama", "SD Negeri {n}", ("S1",)),
    ("fungsional_tertentu", "Guru Ahli Muda", "SMP Negeri {n}", ("S1", "S2")),
    ("fungsional_tertentu", "Guru Ahli Madya", "SMA Negeri {n}", ("S1", "S2")),
    ("fungsional_tertentu", "Dokter Ahli Pertama", "Puskesmas Kecamatan {n}", ("S1",)),
    ("fungsional_tertentu", "Dokter Ahli Muda", "RSUD Kelas B", ("S1", "S2")),
    ("fungsional_tertentu", "Perawat Terampil", "RSUD Kelas B", ("D3",)),
    ("fungsional_tertentu", "Pranata Komputer Ahli Pertama", "Dinas Komunikasi dan Informatika", ("S1",)),
    ("fungsional_tertentu", "Analis Kebijakan Ahli Muda", "Sekretariat Daerah", ("S1", "S2")),
    ("struktural", "Kepala Seksi Pelayanan", "Dinas Kependudukan dan Pencatatan Sipil", ("S1", "S2")),
    ("struktural", "Kepala Sub Bagian Umum dan Kepegawaian", "Badan Kepegawaian dan Pengembangan SDM", ("S1",)),
    ("struktural", "Kepala Bidang Anggaran", "Badan Pengelolaan Keuangan Daerah", ("S2",)),
    ("fungsional_umum", "Pengadministrasi Umum", "Kecamatan {n}", ("SMA", "D3")),
    ("fungsional_umum", "Pengelola Keuangan", "Dinas Pekerjaan Umum", ("D3", "S1")),
    ("fungsional_umum", "Pengemudi", "Sekretariat DPRD", ("SMP", "SMA")),
)
SCHOOL = {"SD": "SD Negeri", "SMP": "SMP Negeri", "SMA": "SMA Negeri", "D3": "Politeknik Negeri",
          "S1": "Universitas", "S2": "Universitas"}
UNIVERSITY = ("Universitas Indonesia", "Universitas Gadjah Mada", "Universitas Padjadjaran", "Universitas Airlangga",
              "Universitas Diponegoro", "Universitas Udayana", "Universitas Pendidikan Indonesia")
GELAR = {"S1": ("S.Pd.", "S.Kom.", "S.E.", "S.H.", "S.Sos."), "S2": ("M.Si.", "M.Pd.", "M.M."), "D3": ("A.Md.",)}
GOLONGAN_START = {"SD": "11", "SMP": "12", "SMA": "21", "D3": "22", "S1": "31", "S2": "32"}
STEPS = ("11", "12", "13", "14", "21", "22", "23", "24", "31", "32", "33", "34", "41", "42", "43", "44", "45")
ANOMALY_RATE = 0.005


def _person(rng: random.Random, today: date, instansi: tuple, seqs: dict) -> dict:
    kode, nama_instansi, region, kota = instansi
    jenis, jabatan, unit, levels = rng.choice(JABATAN)
    level = rng.choice(levels)
    sex = rng.choice("LP")
    born = date(1972, 1, 1) + timedelta(days=rng.randrange(365 * 30))
    tmt_year = min(born.year + rng.randint(21, 35), today.year - 1)
    tmt = date(tmt_year, rng.randint(1, 12), 1)
    prefix = f"{born:%Y%m%d}{tmt:%Y%m}{'1' if sex == 'L' else '2'}"
    seqs[prefix] = seqs.get(prefix, 0) + 1
    first = rng.choice(MALE if sex == "L" else FEMALE)
    years = today.year - tmt.year
    start = STEPS.index(GOLONGAN_START[level])
    golongan = STEPS[min(start + years // 4, len(STEPS) - 1, start + 5)]
    lulus = tmt.year - rng.randint(1, 3)
    gelar_depan = "dr." if jabatan.startswith("Dokter") else ""
    gelar_belakang = "" if gelar_depan else rng.choice(GELAR.get(level, ("",)))
    sekolah = rng.choice(UNIVERSITY) if level in ("S1", "S2") else f"{SCHOOL[level]} {rng.randint(1, 20)} {kota}"
    return {
        "nip": make_nip(born, tmt, sex, seqs[prefix]),
        "nik": make_nik(region, born, sex, rng.randrange(1, 10000)),
        "nama": f"{first} {rng.choice(FAMILY)}".upper() if rng.random() < 0.1 else f"{first} {rng.choice(FAMILY)}",
        "gelar_depan": gelar_depan, "gelar_belakang": gelar_belakang,
        "tempat_lahir": kota if rng.random() < 0.7 else rng.choice(INSTANSI)[3],
        "tanggal_lahir": born.isoformat(), "jenis_kelamin": sex, "agama": rng.choice(AGAMA),
        "instansi_kode": kode, "instansi_nama": nama_instansi,
        "unit_kerja": unit.format(n=rng.randint(1, 60)), "golongan": golongan,
        "tmt_golongan": _tmt_golongan(rng, tmt, today),
        "jenis_jabatan": jenis, "jabatan": jabatan, "tmt_cpns": tmt.isoformat(),
        "pendidikan_tingkat": level, "pendidikan_nama": sekolah, "tahun_lulus": str(lulus),
    }


def _tmt_golongan(rng: random.Random, tmt: date, today: date) -> str:
    """Promotions take effect on 1 April or 1 October, after TMT CPNS and not in the future."""
    year = max(tmt.year + 1, today.year - rng.randint(0, 4))
    at = date(year, rng.choice((4, 10)), 1)
    return (at if at <= today else date(year - 1, 10, 1)).isoformat()


def _spoil(rng: random.Random, row: dict, previous: dict | None) -> None:
    """Make one row anomalous the way real master data is: typos, shared NIKs, stale retirees."""
    kind = rng.choice(("nik", "birth", "duplicate", "retired"))
    if kind == "nik":
        day = int(row["nik"][6:8])
        row["nik"] = f"{row['nik'][:6]}{(day % 28) + 1 + (40 if day > 40 else 0):02d}{row['nik'][8:]}"
    elif kind == "birth":
        born = date.fromisoformat(row["tanggal_lahir"])
        row["tanggal_lahir"] = (born + timedelta(days=rng.choice((-2, -1, 1, 2)))).isoformat()
    elif kind == "duplicate" and previous:
        row["nik"] = previous["nik"]
    elif kind == "retired":
        born = date(1961, rng.randint(1, 12), rng.randint(1, 28))
        tmt = date(1986, rng.randint(1, 12), 1)
        row.update(nip=make_nip(born, tmt, row["jenis_kelamin"], rng.randint(900, 999)),
                   tanggal_lahir=born.isoformat(), tmt_cpns=tmt.isoformat(), jenis_jabatan="fungsional_umum",
                   nik=make_nik(row["nik"][:6], born, row["jenis_kelamin"], rng.randrange(1, 10000)))


def generate_rows(count: int, seed: int, instansi: str | None = None, today: date | None = None) -> Iterator[dict]:
    """`count` roster rows; the same seed always gives the same rows."""
    rng = random.Random(seed)
    today = today or date(2025, 6, 1)
    pool = [i for i in INSTANSI if instansi in (None, i[0])] or [(instansi, f"Instansi {instansi}", "317101",
                                                                  "Jakarta")]
    seqs: dict[str, int] = {}
    previous = None
    for _ in range(count):
        row = _person(rng, today, rng.choice(pool), seqs)
        if rng.random() < ANOMALY_RATE:
            _spoil(rng, row, previous)
        previous = row
        yield row


def write_csv(rows: Iterator[dict], out: io.TextIOBase) -> int:
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    return count


def roster_csv(count: int, seed: int, instansi: str | None = None) -> str:
    """The whole generated roster as CSV text (tests and benchmarks)."""
    buffer = io.StringIO()
    write_csv(generate_rows(count, seed, instansi), buffer)
    return buffer.getvalue()
