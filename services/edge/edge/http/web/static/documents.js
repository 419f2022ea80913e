// Files behind the bearer token: a row's supporting document (upload fills its document_id) and the profile PDF.
import { api, ApiError, newKey } from "./api.js";
import { el, offerBlob } from "./ui.js";

function describe(documentId, uploaded) {
  if (!documentId) return "Belum ada dokumen.";
  if (uploaded) return `Dokumen terunggah (${Math.ceil(uploaded.size / 1024)} KiB). Simpan bagian ini.`;
  return "Dokumen terlampir.";
}

export function documentField(def, value, path, id) {
  const hidden = el("input", { type: "hidden", "data-name": def.name });
  hidden.value = value || "";
  const state = el("p", { class: "doc-state", id: `${id}-keadaan`, text: describe(value) });
  const file = el("input", { type: "file", id, "data-path": path, accept: "application/pdf,image/jpeg",
    "aria-describedby": `${id}-keadaan` });
  const upload = el("button", { type: "button", class: "secondary small", text: "Unggah" });
  const view = el("button", { type: "button", class: "link", text: "Lihat dokumen", hidden: !value });
  const viewBox = el("span", { role: "status" });
  upload.addEventListener("click", async () => {
    if (!file.files.length) {
      state.textContent = "Pilih berkas PDF (maksimal 1 MiB) terlebih dahulu.";
      file.focus();
      return;
    }
    const form = new FormData();
    form.append("kind", def.kind);
    form.append("file", file.files[0]);
    upload.disabled = true;
    state.textContent = "Mengunggah…";
    try {
      const { data } = await api("POST", "/api/v1/me/documents", { form, key: newKey() });
      hidden.value = data.document_id;
      hidden.dispatchEvent(new Event("input", { bubbles: true }));
      state.textContent = describe(data.document_id, data);
      view.hidden = false;
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      state.textContent = `Gagal mengunggah: ${err.message}`;
    } finally {
      upload.disabled = false;
    }
  });
  view.addEventListener("click", async () => {
    try {
      const { data } = await api("GET", `/api/v1/me/documents/${encodeURIComponent(hidden.value)}`, { blob: true });
      offerBlob(data, `dokumen-${hidden.value}.${data.type.includes("jpeg") ? "jpg" : "pdf"}`, viewBox);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      viewBox.textContent = err.message;
    }
  });
  return el("div", { class: "field wide document" }, el("label", { for: id, text: `${def.label} (PDF)` }),
    hidden, state, el("div", { class: "doc-actions" }, file, upload, view, viewBox));
}

// "Cetak profil": GET /api/v1/me/profile.pdf needs the bearer header, so fetch it as a blob.
export function wireProfileButton(button, box, nip) {
  button.hidden = false;
  button.addEventListener("click", async () => {
    button.disabled = true;
    box.textContent = "Menyiapkan profil…";
    try {
      const { data } = await api("GET", "/api/v1/me/profile.pdf", { blob: true });
      offerBlob(data, `profil-pns-${nip || "saya"}.pdf`, box, "Profil siap. ");
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      box.textContent = err.code === "not_submitted" ? "Profil dapat dicetak setelah formulir dikirim." : err.message;
    } finally {
      button.disabled = false;
    }
  });
}
