// Inputs for one section: labelled fields, list rows with add/remove, and reading typed values back.
import { documentField } from "./documents.js";
import { SECTIONS, isList } from "./sections.js";
import { el } from "./ui.js";

const TODAY = new Date(Date.now() - new Date().getTimezoneOffset() * 60000).toISOString().slice(0, 10);
const idFor = (path) => `f-${path.replace(/[^\w-]/g, "-")}`;

function selectInput(def, value, codes, attrs) {
  const options = [el("option", { value: "", text: "— pilih —" })];
  const list = codes[def.list] || [];
  if (value && !list.some(([code]) => code === value)) options.push(el("option", { value, text: value }));
  for (const [code, label] of list) {
    options.push(el("option", { value: code, text: code === label ? label : `${label}`, selected: code === value }));
  }
  const select = el("select", attrs, ...options);
  select.value = value ?? "";
  return select;
}

// One labelled field; `path` is the dotted path the server uses in `fields` (riwayat_golongan.0.tmt).
export function field(def, value, path, codes) {
  const id = idFor(path);
  const hintId = def.hint ? `${id}-bantuan` : null;
  const attrs = { id, name: def.name, "data-name": def.name, "data-path": path, "aria-describedby": hintId };
  const hint = def.hint ? el("p", { class: "hint", id: hintId, text: def.hint }) : null;
  if (def.type === "document") return documentField(def, value, path, id);
  if (def.type === "bool") {
    const box = el("input", { ...attrs, type: "checkbox", checked: value === true });
    return el("div", { class: "field check" }, box, el("label", { for: id, text: def.label }), hint);
  }
  let input;
  if (def.type === "select") {
    input = selectInput(def, value, codes, attrs);
  } else if (def.type === "textarea") {
    input = el("textarea", { ...attrs, rows: 3 });
    input.value = value ?? "";
  } else {
    const type = { date: "date", int: "number", tel: "tel", email: "email" }[def.type] || "text";
    input = el("input", { ...attrs, type, inputmode: def.inputmode || (def.type === "int" ? "numeric" : null),
      autocomplete: def.autocomplete || "off", max: def.type === "date" && !def.future ? TODAY : null,
      min: def.min ?? null, step: def.type === "int" ? 1 : null, list: def.options ? `${id}-pilihan` : null });
    input.value = value ?? "";
  }
  const datalist = def.options ? el("datalist", { id: `${id}-pilihan` },
    ...def.options.map((o) => el("option", { value: o }))) : null;
  return el("div", { class: `field${def.wide ? " wide" : ""}` }, el("label", { for: id, text: def.label }),
    input, datalist, hint);
}

function readField(def, container) {
  const input = container.querySelector(`[data-name="${def.name}"]`);
  if (!input) return undefined;
  if (def.type === "bool") return input.checked;
  const raw = input.value.trim();
  if (raw === "") return null;
  if (def.type === "int") {
    const number = Number(raw);
    return Number.isInteger(number) ? number : raw;  // the server explains what is wrong with it
  }
  return raw;
}

function readObject(defs, container, original) {
  const value = { ...(original || {}) };
  for (const def of defs) {
    const read = readField(def, container);
    if (read !== undefined) value[def.name] = read;
  }
  return value;
}

// An editor for one section's value; `read()` gives what a PUT should carry.
export function sectionEditor(key, initial, codes, onChange) {
  const { fields, item } = SECTIONS[key];
  if (!isList(key)) {
    const grid = el("div", { class: "grid" }, ...fields.map((def) => field(def, (initial || {})[def.name],
      `${key}.${def.name}`, codes)));
    return { node: grid, read: () => readObject(fields, grid, initial) };
  }
  let rows = Array.isArray(initial) ? initial.map((row) => ({ ...row })) : [];
  const list = el("div", { class: "rows" });
  const add = el("button", { type: "button", class: "secondary", text: `Tambah ${item.toLowerCase()}` });
  const node = el("div", {}, list, el("p", {}, add));
  const rowNodes = () => list.querySelectorAll(":scope > fieldset.row");
  const readAll = () => Array.from(rowNodes(), (row, i) => readObject(fields, row, rows[i]));
  const render = (focusIndex) => {
    list.replaceChildren(...rows.map((row, i) => {
      const remove = el("button", { type: "button", class: "danger small", text: "Hapus",
        "aria-label": `Hapus ${item.toLowerCase()} ${i + 1}` });
      remove.addEventListener("click", () => {
        rows = readAll();
        rows.splice(i, 1);
        render(null);
        add.focus();
        onChange();
      });
      return el("fieldset", { class: "row", "data-row": String(i) },
        el("legend", { text: `${item} ${i + 1}` }),
        el("div", { class: "grid" }, ...fields.map((def) => field(def, row[def.name], `${key}.${i}.${def.name}`, codes))),
        el("p", { class: "row-actions" }, remove));
    }));
    if (!rows.length) list.append(el("p", { class: "empty", text: "Belum ada data." }));
    if (focusIndex !== null && rowNodes()[focusIndex]) {
      rowNodes()[focusIndex].querySelector("input, select, textarea").focus();
    }
  };
  add.addEventListener("click", () => {
    rows = readAll();
    rows.push(Object.fromEntries(fields.map((def) => [def.name, def.type === "bool" ? false : null])));
    render(rows.length - 1);
    onChange();
  });
  render(null);
  return { node, read: () => (rows.length ? readAll() : []) };
}
