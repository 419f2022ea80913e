"""The form's section keys: normative in the spec, shared by forms and verification."""

SECTION_KEYS = (
    "data_utama", "data_posisi", "riwayat_pendidikan", "riwayat_golongan", "riwayat_jabatan",
    "riwayat_diklat", "riwayat_penghargaan", "data_guru", "data_dokter", "data_stakeholder",
)
