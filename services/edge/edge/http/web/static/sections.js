// What each form section looks like on screen: title, labels, input types, code lists.
// Field names are the SPEC's; the server validates, these only describe how to ask.
const text = (name, label, extra = {}) => ({ name, label, type: "text", ...extra });
const date = (name, label, extra = {}) => ({ name, label, type: "date", ...extra });
const year = (name, label) => ({ name, label, type: "int", min: 1900 });
const pick = (name, label, list) => ({ name, label, type: "select", list });
const doc = (kind) => ({ name: "document_id", label: "Dokumen pendukung", type: "document", kind });

export const SECTIONS = {
  data_utama: { title: "Data utama", fields: [
    text("nama", "Nama lengkap", { autocomplete: "name" }), text("gelar_depan", "Gelar depan"),
    text("gelar_belakang", "Gelar belakang"), text("tempat_lahir", "Tempat lahir"), date("tanggal_lahir", "Tanggal lahir"),
    pick("jenis_kelamin", "Jenis kelamin", "jenis_kelamin"),
    text("agama", "Agama", { options: ["Islam", "Kristen", "Katolik", "Hindu", "Buddha", "Konghucu"] }),
    text("status_perkawinan", "Status perkawinan", { options: ["Belum kawin", "Kawin", "Cerai hidup", "Cerai mati"] }),
    text("nik", "NIK", { inputmode: "numeric", hint: "16 digit" }),
    text("npwp", "NPWP", { inputmode: "numeric", hint: "15 atau 16 digit; titik dan tanda hubung boleh" }),
    { name: "alamat", label: "Alamat", type: "textarea", wide: true },
    { name: "no_hp", label: "Nomor HP", type: "tel", hint: "Diawali +62 atau 08", autocomplete: "tel" },
    { name: "email", label: "E-mail", type: "email", autocomplete: "email" },
  ] },
  data_posisi: { title: "Data posisi dan jabatan", fields: [
    text("instansi_kode", "Kode instansi"), text("unit_kerja", "Unit kerja"),
    pick("jenis_jabatan", "Jenis jabatan", "jenis_jabatan"), text("jabatan", "Jabatan"),
    date("tmt_jabatan", "TMT jabatan"), text("lokasi_kerja", "Lokasi kerja"),
  ] },
  riwayat_pendidikan: { title: "Riwayat pendidikan", item: "Pendidikan", fields: [
    pick("tingkat", "Tingkat pendidikan", "tingkat"), text("nama_sekolah", "Nama sekolah/perguruan tinggi"),
    text("jurusan", "Jurusan"), year("tahun_lulus", "Tahun lulus"), text("nomor_ijazah", "Nomor ijazah"),
    doc("ijazah"),
  ] },
  riwayat_golongan: { title: "Riwayat golongan/pangkat", item: "Golongan", fields: [
    pick("golongan", "Golongan", "golongan"), date("tmt", "TMT", { hint: "Terhitung mulai tanggal" }),
    text("nomor_sk", "Nomor SK"), date("tanggal_sk", "Tanggal SK"), doc("sk_pangkat"),
  ] },
  riwayat_jabatan: { title: "Riwayat jabatan", item: "Jabatan", fields: [
    pick("jenis_jabatan", "Jenis jabatan", "jenis_jabatan"), text("jabatan", "Jabatan"),
    text("unit_kerja", "Unit kerja"), date("tmt", "TMT", { hint: "Terhitung mulai tanggal" }),
    text("nomor_sk", "Nomor SK"), date("tanggal_sk", "Tanggal SK"), doc("sk_jabatan"),
  ] },
  riwayat_diklat: { title: "Riwayat diklat", item: "Diklat", fields: [
    text("nama", "Nama diklat"), text("jenis", "Jenis diklat"), year("tahun", "Tahun"),
    { name: "jam_pelajaran", label: "Jam pelajaran", type: "int", min: 0 },
  ] },
  riwayat_penghargaan: { title: "Riwayat penghargaan", item: "Penghargaan", fields: [
    text("nama", "Nama penghargaan"), year("tahun", "Tahun"), text("nomor_sk", "Nomor SK"),
  ] },
  data_guru: { title: "Data guru", fields: [
    text("nuptk", "NUPTK"), { name: "sertifikasi", label: "Sudah memiliki sertifikat pendidik", type: "bool" },
    text("nomor_sertifikat", "Nomor sertifikat pendidik"), text("mata_pelajaran", "Mata pelajaran"),
    text("sekolah", "Sekolah"),
  ] },
  data_dokter: { title: "Data dokter", fields: [
    text("nomor_str", "Nomor STR"), date("tanggal_str", "Tanggal STR"),
    date("berlaku_sampai", "STR berlaku sampai", { future: true }), text("spesialisasi", "Spesialisasi"),
    text("nomor_sip", "Nomor SIP"),
  ] },
  data_stakeholder: { title: "Nomor keanggotaan (Bapertarum, BPJS, KPE, Taspen)", fields: [
    text("bapertarum_nomor", "Nomor Bapertarum"),
    text("bpjs_kesehatan_nomor", "Nomor BPJS Kesehatan", { inputmode: "numeric", hint: "13 digit" }),
    text("kpe_nomor", "Nomor KPE"), text("taspen_nomor", "Nomor Taspen"),
  ] },
};

export const ORDER = Object.keys(SECTIONS);

export function isList(key) {
  return key.startsWith("riwayat_");
}
