// "Masuk": POST /api/v1/auth/token, token kept in sessionStorage, clear answers for every refusal.
import { api, ApiError, safeNext, saveToken } from "./api.js";
import { clearFieldErrors, hideMessage, showFieldErrors, showMessage, wireForm } from "./ui.js";

const form = document.getElementById("form-masuk");
const box = document.getElementById("pesan");
const params = new URLSearchParams(location.search);
if (params.get("alasan") === "sesi") showMessage(box, "info", "Silakan masuk terlebih dahulu.");
if (params.get("alasan") === "keluar") showMessage(box, "info", "Anda telah keluar.");

function retryText(seconds) {
  const at = new Date(Date.now() + seconds * 1000).toLocaleTimeString("id-ID", { hour: "2-digit", minute: "2-digit" });
  const wait = seconds < 60 ? `${seconds} detik` : `${Math.ceil(seconds / 60)} menit`;
  return `Terlalu banyak percobaan masuk. Coba lagi dalam ${wait} (sekitar pukul ${at}).`;
}

const MESSAGES = {
  invalid_credentials: "NIP atau kata sandi salah.",
  registration_pending: "Pendaftaran Anda belum dikonfirmasi verifikator BKD instansi Anda. Anda dapat masuk "
    + "setelah pendaftaran dikonfirmasi; hubungi BKD instansi Anda bila perlu dengan membawa tanda terima "
    + "pendaftaran.",
  registration_rejected: "Pendaftaran Anda ditolak verifikator. Periksa e-mail Anda untuk alasannya; Anda dapat "
    + "mendaftar kembali.",
};

wireForm(form, async (event) => {
  event.preventDefault();
  clearFieldErrors(form);
  hideMessage(box);
  const values = Object.fromEntries(new FormData(form));
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const { data } = await api("POST", "/api/v1/auth/token", { auth: false,
      json: { username: values.username.replace(/\s/g, ""), password: values.password } });
    if (data.role !== "pns") {
      showMessage(box, "error", "Akun ini bukan akun PNS. Verifikator dan administrator menggunakan konsol "
        + "masing-masing.");
      return;
    }
    saveToken(data.access_token, data.expires_in);
    location.assign(safeNext(params.get("next")));
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    if (err.code === "too_many_attempts") {
      showMessage(box, "error", retryText(Math.max(1, Math.round(err.retryAfter || 60))));
    } else if (err.code === "validation_error") {
      const left = showFieldErrors(form, err.fields);
      showMessage(box, "error", Object.values(left).join(" ") || "Periksa kembali isian yang ditandai.");
    } else {
      showMessage(box, "error", MESSAGES[err.code] || err.message);
    }
  } finally {
    button.disabled = false;
  }
});
