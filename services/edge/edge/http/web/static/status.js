// "Status saya": GET /api/v1/me, the status in words and the timeline.
import { api, ApiError, requireLogin } from "./api.js";
import { wireProfileButton } from "./documents.js";
import { el, formatTime, offerBlob, showMessage } from "./ui.js";

const STATUS = {
  pending_confirmation: ["Menunggu konfirmasi", "Pendaftaran Anda menunggu konfirmasi verifikator BKD instansi Anda."],
  rejected: ["Pendaftaran ditolak", "Pendaftaran Anda ditolak verifikator. Anda dapat mendaftar kembali."],
  draft: ["Draf", "Formulir dapat Anda periksa dan perbaiki. Jangan lupa mengirimnya sebelum masa pendataan "
    + "berakhir."],
  submitted: ["Dikirim", "Formulir sudah dikirim dan sedang menunggu pemeriksaan verifikator."],
  returned: ["Dikembalikan", "Verifikator mengembalikan formulir dengan catatan. Perbaiki bagian yang diminta, "
    + "lalu kirim ulang."],
  verified: ["Terverifikasi", "Data Anda telah diverifikasi dan menjadi data induk PNS."],
  not_reregistered: ["Tidak melakukan pendataan ulang", "Masa pendataan ditutup sebelum formulir Anda dikirim. "
    + "Hubungi BKD instansi Anda."],
};

const EVENTS = {
  registered: "Pendaftaran diterima",
  confirmed: "Pendaftaran dikonfirmasi verifikator",
  rejected: "Pendaftaran ditolak",
  draft: "Formulir dibuka kembali",
  submitted: "Formulir dikirim",
  returned: "Formulir dikembalikan dengan catatan",
  verified: "Data diverifikasi",
  not_reregistered: "Dinyatakan tidak melakukan pendataan ulang",
  reinstated: "Status dipulihkan",
  email_sent: "E-mail terkirim",
  email_retrying: "E-mail belum terkirim, dicoba ulang otomatis",
  email_waiting: "E-mail menunggu alamat tujuan",
  email_given_up: "E-mail tidak dikirim",
  stamp_requested: "Surat pernyataan dikirim untuk e-Meterai",
  stamp_pending: "Menunggu e-Meterai (dicoba ulang otomatis)",
  statement_stamped: "Surat pernyataan telah ber-e-Meterai",
};

const ROLES = { pns: "Anda", verifier: "Verifikator", admin: "Administrator BKN", system: "Sistem" };

const box = document.getElementById("pesan");

async function load() {
  let me;
  try {
    ({ data: me } = await api("GET", "/api/v1/me"));
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    if (err.status === 401) return requireLogin();
    showMessage(box, "error", err.message);
    return;
  }
  const [word, explanation] = STATUS[me.status] || [me.status, ""];
  const badge = document.getElementById("status-kata");
  badge.textContent = word;
  badge.dataset.status = me.status;
  document.getElementById("status-nama").textContent = me.nama || "";
  document.getElementById("status-nip").textContent = me.nip;
  document.getElementById("status-nomor").textContent = me.registration_number || "—";
  document.getElementById("status-keterangan").textContent = explanation;
  wireExportButton(document.getElementById("unduh-data"), document.getElementById("profil-pesan"), me.nip);
  if (["submitted", "verified"].includes(me.status)) {
    wireProfileButton(document.getElementById("cetak-profil"), document.getElementById("profil-pesan"), me.nip);
  }
  document.getElementById("ringkasan").hidden = false;
  const list = document.getElementById("linimasa");
  const items = (me.timeline || []).slice().reverse().map((entry) => el("li", {},
    el("time", { datetime: entry.at || "", text: formatTime(entry.at) }),
    el("span", { class: "what", text: EVENTS[entry.type] || entry.type }),
    entry.by_role ? el("span", { class: "who", text: ROLES[entry.by_role] || entry.by_role }) : null,
    entry.note ? el("p", { class: "note", text: `Catatan: ${entry.note}` }) : null));
  list.replaceChildren(...(items.length ? items : [el("li", { text: "Belum ada riwayat." })]));
}

if (requireLogin()) load();

// "Unduh semua data saya": GET /api/v1/me/export (the right of access) needs the bearer header: fetch as a blob.
function wireExportButton(button, status, nip) {
  button.addEventListener("click", async () => {
    button.disabled = true;
    status.textContent = "Menyiapkan data Anda…";
    try {
      const { data } = await api("GET", "/api/v1/me/export", { blob: true });
      offerBlob(data, `data-pupns-${nip}.json`, status, "Data Anda siap. ");
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      status.textContent = err.message;
    } finally {
      button.disabled = false;
    }
  });
}
