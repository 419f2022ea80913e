// One form section on screen: notes and anomalies on top, the editor, "Simpan bagian ini" (PUT + If-Match).
import { api, ApiError, newKey } from "./api.js";
import { SECTIONS } from "./sections.js";
import { clearFieldErrors, el, hideMessage, showFieldErrors, showMessage } from "./ui.js";
import { sectionEditor } from "./widgets.js";

function problems(box, title, lines, kind) {
  if (!lines.length) {
    box.hidden = true;
    box.replaceChildren();
    return;
  }
  box.className = `message ${kind}`;
  box.replaceChildren(el("p", {}, el("strong", { text: title })),
    el("ul", {}, ...lines.map((text) => el("li", { text }))));
  box.hidden = false;
}

// state: {version, codes, dirty: Set, onConflict(), onLocked(message)}
export function sectionPanel(key, form, state) {
  const { title } = SECTIONS[key];
  const headingId = `judul-${key}`;
  const notes = el("div", { hidden: true });
  const anomalies = el("div", { hidden: true });
  const errors = el("div", { class: "message error", role: "alert", hidden: true });
  const saved = el("p", { class: "saved", role: "status" });
  const badge = el("span", { class: "badge unsaved", text: "Belum disimpan", hidden: true });
  const editor = sectionEditor(key, form.sections[key], state.codes, () => markDirty());
  const save = el("button", { type: "submit", text: "Simpan bagian ini", "aria-describedby": headingId });
  const fieldset = el("fieldset", { class: "plain" }, editor.node, el("p", { class: "actions" }, save, saved));
  const formNode = el("form", { novalidate: true, "aria-labelledby": headingId }, fieldset);
  const panel = el("section", { class: "panel section", id: `bagian-${key}`, "aria-labelledby": headingId,
    tabindex: "-1" }, el("h2", { id: headingId }, title, " ", badge), notes, anomalies, errors, formNode);

  function markDirty() {
    state.dirty.add(key);
    badge.hidden = false;
    saved.textContent = "";
  }
  formNode.addEventListener("input", markDirty);
  formNode.addEventListener("change", markDirty);

  function showNotesAndAnomalies(current) {
    const note = (current.notes || {})[key];
    problems(notes, "Catatan verifikator:", note ? [note] : [], "warning");
    const flags = (current.anomalies || []).filter((a) => a.section === key).map((a) => a.message || a.code);
    problems(anomalies, "Perlu diperhatikan:", flags, "info");
  }
  showNotesAndAnomalies(form);

  formNode.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFieldErrors(formNode);
    hideMessage(errors);
    saved.textContent = "";
    save.disabled = true;
    try {
      const { data } = await api("PUT", `/api/v1/me/form/sections/${key}`, { json: editor.read(), key: newKey(),
        headers: { "If-Match": String(state.version) } });
      state.version = data.version;
      state.dirty.delete(key);
      badge.hidden = true;
      const at = new Date().toLocaleTimeString("id-ID", { hour: "2-digit", minute: "2-digit" });
      saved.textContent = `Bagian "${title}" tersimpan pukul ${at}.`;
      state.refresh();
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      if (err.code === "validation_error") {
        showMessage(errors, "error", `Bagian "${title}" belum tersimpan. Periksa isian yang ditandai.`);
        const left = showFieldErrors(formNode, err.fields);
        const extra = Object.entries(left).map(([path, text]) => (path === key ? text : `${path}: ${text}`));
        if (extra.length) errors.append(el("ul", {}, ...extra.map((text) => el("li", { text }))));
      } else if (err.code === "version_conflict") {
        state.onConflict();
      } else if (err.code === "form_locked") {
        state.onLocked(err.message);
      } else {
        showMessage(errors, "error", err.message);
      }
    } finally {
      save.disabled = false;
    }
  });

  return {
    node: panel,
    update: showNotesAndAnomalies,
    incomplete(reasons) {
      problems(errors, `Bagian "${title}" belum dapat dikirim:`, [].concat(reasons || []), "error");
    },
    lock() {
      fieldset.disabled = true;
      save.hidden = true;
    },
  };
}
