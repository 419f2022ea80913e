// "Formulir": GET /api/v1/me/form, one panel per applicable section, save per section, submit.
import { api, ApiError, newKey, requireLogin } from "./api.js";
import { sectionPanel } from "./panel.js";
import { wireProfileButton } from "./documents.js";
import { ORDER, SECTIONS } from "./sections.js";
import { el, formatTime, hideMessage, showMessage } from "./ui.js";

const box = document.getElementById("pesan");
const stateBox = document.getElementById("keadaan");
const sendBox = document.getElementById("kirim-pesan");
const panels = {};
const state = {
  version: null,
  codes: JSON.parse(document.getElementById("kode-referensi").textContent),
  dirty: new Set(),
  onConflict: conflict,
  onLocked: (message) => lockAll(message || "Formulir sudah dikirim dan terkunci."),
  refresh,
};

function banner(kind, text, ...extra) {
  stateBox.className = `panel ${kind}`;
  stateBox.replaceChildren(el("p", { text }), ...extra);
  stateBox.hidden = false;
}

function conflict() {
  const reload = el("button", { type: "button", text: "Muat ulang formulir" });
  reload.addEventListener("click", () => {
    state.dirty.clear();
    location.reload();
  });
  showMessage(box, "error", "Formulir Anda telah berubah di tempat lain (misalnya di tab lain). Muat ulang untuk "
    + "melihat data terbaru; perubahan yang belum disimpan akan hilang.", el("p", {}, reload));
}

function lockAll(message) {
  Object.values(panels).forEach((panel) => panel.lock());
  document.getElementById("kirim").hidden = true;
  state.dirty.clear();
  banner("info", message);
}

async function refresh() {
  // anomalies are computed on every save: show the new ones without touching what is being edited
  try {
    const { data } = await api("GET", "/api/v1/me/form");
    if (data.version === state.version) Object.values(panels).forEach((panel) => panel.update(data));
  } catch (_) { /* the save itself succeeded; stale flags are harmless */ }
}

function showStatus(form) {
  if (form.status === "returned") {
    banner("warning", "Formulir dikembalikan verifikator dengan catatan. Perbaiki bagian yang diberi catatan, "
      + "simpan, lalu kirim ulang.");
  }
  if (form.status === "submitted" || form.status === "verified") {
    lockAll(form.status === "verified" ? "Data Anda telah diverifikasi. Formulir tidak dapat diubah lagi."
      : "Formulir sudah dikirim dan sedang diperiksa verifikator. Formulir terkunci.");
    wireProfileButton(document.getElementById("cetak-profil"), document.getElementById("profil-pesan"));
  }
}

async function load() {
  let form;
  try {
    ({ data: form } = await api("GET", "/api/v1/me/form"));
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    if (err.status === 401) return requireLogin();
    document.getElementById("memuat").textContent = "";
    showMessage(box, "error", err.status === 404 ? "Formulir Anda belum tersedia. Formulir dibuka setelah "
      + "pendaftaran dikonfirmasi verifikator; coba lagi beberapa saat lagi." : err.message);
    return;
  }
  state.version = form.version;
  const keys = ORDER.filter((key) => (form.applicable_sections || ORDER).includes(key));
  const toc = document.querySelector("#daftar-isi ol");
  const host = document.getElementById("bagian");
  for (const key of keys) {
    panels[key] = sectionPanel(key, form, state);
    host.append(panels[key].node);
    toc.append(el("li", {}, el("a", { href: `#bagian-${key}`, text: SECTIONS[key].title })));
  }
  document.getElementById("memuat").remove();
  document.getElementById("daftar-isi").hidden = false;
  document.getElementById("kirim").hidden = false;
  showStatus(form);
}

document.getElementById("form-kirim").addEventListener("submit", async (event) => {
  event.preventDefault();
  hideMessage(sendBox);
  if (state.dirty.size) {
    const names = [...state.dirty].map((key) => SECTIONS[key].title).join(", ");
    showMessage(sendBox, "error", `Ada bagian yang belum disimpan: ${names}. Simpan dulu sebelum mengirim.`);
    return;
  }
  if (!document.getElementById("pernyataan").checked) {
    showMessage(sendBox, "error", "Centang pernyataan kebenaran data sebelum mengirim.");
    document.getElementById("pernyataan").focus();
    return;
  }
  const button = event.submitter || event.target.querySelector("button");
  button.disabled = true;
  try {
    const { data } = await api("POST", "/api/v1/me/form/submit", { key: newKey() });
    lockAll(`Formulir berhasil dikirim pada ${formatTime(data.submitted_at)}. Status: Dikirim. Formulir kini `
      + "terkunci dan menunggu pemeriksaan verifikator.");
    stateBox.append(el("p", {}, el("a", { href: "/status", text: "Lihat status saya" })));
    wireProfileButton(document.getElementById("cetak-profil"), document.getElementById("profil-pesan"));
    stateBox.tabIndex = -1;
    stateBox.focus();
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    if (err.code === "incomplete") {
      const links = Object.entries(err.fields).map(([key, reasons]) => {
        panels[key]?.incomplete(reasons);
        return el("li", {}, el("a", { href: `#bagian-${key}`, text: SECTIONS[key]?.title || key }));
      });
      showMessage(sendBox, "error", "Formulir belum lengkap. Perbaiki bagian berikut:", el("ul", {}, ...links));
    } else if (err.code === "form_locked") {
      lockAll(err.message);
    } else {
      showMessage(sendBox, "error", err.message);
    }
  } finally {
    button.disabled = false;
  }
});

window.addEventListener("beforeunload", (event) => {
  if (state.dirty.size) event.preventDefault();
});

if (requireLogin()) load();
