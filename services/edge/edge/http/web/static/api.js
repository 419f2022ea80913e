// fetch() for /api/v1: the session token, JSON, the error envelope, and waiting in line on 503 `queue`.
import { doneWaiting, waitTurn } from "./queue.js";

const TICKET = "pupns.queueTicket";
// The PNS's access token lives in sessionStorage only: it ends with the tab, never shared across tabs.
const TOKEN = "pupns.token";
const MAX_WAITS = 200; // about an hour of Retry-After turns before giving up

export function token() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(TOKEN) || "null");
    if (saved && saved.expiresAt > Date.now()) return saved.token;
  } catch (_) { /* unreadable: treat as logged out */ }
  sessionStorage.removeItem(TOKEN);
  return null;
}

export function saveToken(accessToken, expiresIn) {
  const expiresAt = Date.now() + Math.max(0, (Number(expiresIn) || 0) - 30) * 1000;
  sessionStorage.setItem(TOKEN, JSON.stringify({ token: accessToken, expiresAt }));
}

export function clearToken() {
  sessionStorage.removeItem(TOKEN);
}

export function loggedIn() {
  return token() !== null;
}

// A same-site path to go back to after logging in; anything else falls back to the status page.
export function safeNext(raw) {
  return raw && raw.startsWith("/") && !raw.startsWith("//") ? raw : "/status";
}

export function requireLogin() {
  if (loggedIn()) return true;
  const next = encodeURIComponent(location.pathname + location.search);
  location.replace(`/masuk?next=${next}&alasan=sesi`);
  return false;
}

export class ApiError extends Error {
  constructor(status, body, retryAfter) {
    const error = (body && body.error) || {};
    super(error.message || defaultMessage(status));
    this.status = status;
    this.code = error.code || (status === 0 ? "network" : "http_" + status);
    this.fields = error.fields || {};
    this.body = body || {};
    this.retryAfter = retryAfter;
  }
}

function defaultMessage(status) {
  if (status === 0) return "Tidak dapat terhubung ke server. Periksa koneksi internet Anda lalu coba lagi.";
  if (status >= 500) return "Layanan sedang mengalami gangguan. Silakan coba lagi beberapa saat lagi.";
  return "Permintaan tidak dapat diproses.";
}

export function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

function retryAfterSeconds(response, queue) {
  const header = Number(response.headers.get("Retry-After"));
  if (Number.isFinite(header) && header > 0) return header;
  return queue && queue.retry_after > 0 ? queue.retry_after : 1;
}

async function readJson(response) {
  const type = response.headers.get("Content-Type") || "";
  if (!type.includes("json")) return null;
  try { return await response.json(); } catch (_) { return null; }
}

// One API call. Options: json (body), form (FormData), headers, auth (default true), blob (answer as Blob),
// key (Idempotency-Key, kept across automatic retries so a repeat can never apply twice).
export async function api(method, path, options = {}) {
  const { json, form, auth = true, blob = false, key } = options;
  for (let attempt = 0; ; attempt += 1) {
    const headers = { Accept: blob ? "application/pdf, application/json" : "application/json",
      ...(options.headers || {}) };
    const bearer = auth ? token() : null;
    if (bearer) headers.Authorization = `Bearer ${bearer}`;
    const ticket = sessionStorage.getItem(TICKET);
    if (ticket) headers["X-Queue-Ticket"] = ticket;
    if (key) headers["Idempotency-Key"] = key;
    let body;
    if (json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(json);
    } else if (form) {
      body = form;
    }
    let response;
    try {
      response = await fetch(path, { method, headers, body, credentials: "same-origin" });
    } catch (_) {
      doneWaiting();
      throw new ApiError(0, null);
    }
    const data = response.ok && blob ? null : await readJson(response);
    const code = data && data.error && data.error.code;
    const waits = (response.status === 503 && code === "queue") || (response.status === 429 && code === "rate_limited");
    if (waits && attempt < MAX_WAITS) {
      const queue = data.queue || {};
      if (queue.ticket) sessionStorage.setItem(TICKET, queue.ticket);
      await waitTurn({ position: queue.position || 0, seconds: retryAfterSeconds(response, queue),
        reason: response.status === 429 ? "rate" : "queue" });
      continue;
    }
    doneWaiting();
    if (response.ok) {
      sessionStorage.removeItem(TICKET);
      return { status: response.status, headers: response.headers, data: blob ? await response.blob() : data };
    }
    if (response.status === 401 && bearer) clearToken();
    throw new ApiError(response.status, data, retryAfterSeconds(response, data && data.queue));
  }
}
