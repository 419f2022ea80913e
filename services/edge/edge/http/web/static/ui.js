// Small DOM helpers shared by the pages: building elements, messages, field errors, the menu.
import { clearToken, loggedIn } from "./api.js";

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (name === "text") node.textContent = value;
    else if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

// Attach a page form's submit handler, and only then let the form be sent. The page ships the button disabled and
// the form as POST: a tap before this module has run (a slow phone on registration day) must neither reload the page
// with the fields in its address (a NIK or a password in the URL, the history and the logs) nor seem to do nothing.
export function wireForm(form, onSubmit) {
  form.addEventListener("submit", onSubmit);
  for (const button of form.querySelectorAll("button[type=submit]")) button.disabled = false;
}

// kind: "error" | "success" | "info". Moves focus to the message so keyboard and screen-reader users hear it.
export function showMessage(box, kind, text, ...extra) {
  box.className = `message ${kind}`;
  box.replaceChildren(el("p", { text }), ...extra);
  box.hidden = false;
  if (kind === "error") {
    box.tabIndex = -1;
    box.focus();
  }
}

export function hideMessage(box) {
  box.hidden = true;
  box.replaceChildren();
}

export function clearFieldErrors(root) {
  root.querySelectorAll(".field-error").forEach((node) => node.remove());
  root.querySelectorAll("[aria-invalid]").forEach((input) => {
    input.removeAttribute("aria-invalid");
    const ids = (input.getAttribute("aria-describedby") || "").split(" ").filter((id) => !id.startsWith("galat-"));
    if (ids.length) input.setAttribute("aria-describedby", ids.join(" "));
    else input.removeAttribute("aria-describedby");
  });
}

// Put each `fields` reason next to the input whose data-path matches; returns the reasons nobody took.
export function showFieldErrors(root, fields) {
  const left = {};
  let first = null;
  for (const [path, reasons] of Object.entries(fields || {})) {
    const input = root.querySelector(`[data-path="${CSS.escape(path)}"]`);
    const text = [].concat(reasons).join("; ");
    if (!input) {
      left[path] = text;
      continue;
    }
    const id = `galat-${path.replace(/[^\w-]/g, "-")}`;
    const note = el("p", { class: "field-error", id, text });
    (input.closest(".field") || input.parentElement).append(note);
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", `${input.getAttribute("aria-describedby") || ""} ${id}`.trim());
    first = first || input;
  }
  if (first) first.focus();
  return left;
}

export function formatTime(iso) {
  if (!iso) return "";
  const when = new Date(iso);
  if (Number.isNaN(when.getTime())) return iso;
  return when.toLocaleString("id-ID", { dateStyle: "long", timeStyle: "short" });
}

function initNav() {
  const state = loggedIn() ? "in" : "out";
  document.querySelectorAll("[data-auth]").forEach((item) => {
    item.hidden = item.dataset.auth !== state;
  });
  const logout = document.getElementById("keluar");
  if (logout) {
    logout.addEventListener("click", () => {
      clearToken();
      location.assign("/masuk?alasan=keluar");
    });
  }
}

// Fetch a PDF that needs the bearer token and hand it to the browser as a download.
export function offerBlob(blob, filename, box, lead = "Berkas siap. ") {
  const url = URL.createObjectURL(blob);
  const link = el("a", { href: url, download: filename, text: `Unduh ${filename}` });
  box.replaceChildren(lead, link);
  link.click();
}

initNav(); // every page imports this module: the menu follows the session
