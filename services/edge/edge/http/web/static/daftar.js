// "Daftar": POST /api/v1/registrations, field errors inline, then the registration number and receipt.
import { api, ApiError, newKey } from "./api.js";
import { clearFieldErrors, hideMessage, showFieldErrors, showMessage, wireForm } from "./ui.js";

const form = document.getElementById("form-daftar");
const box = document.getElementById("pesan");
const FIELD_FOR_CODE = { nip_not_in_roster: "nip", nik_mismatch: "nik" };

wireForm(form, async (event) => {
  event.preventDefault();
  clearFieldErrors(form);
  hideMessage(box);
  const values = Object.fromEntries(new FormData(form));
  const payload = { nip: values.nip.replace(/\s/g, ""), nik: values.nik.trim(), email: values.email.trim(),
    password: values.password };
  if (values.password !== values.konfirmasi) {
    showFieldErrors(form, { konfirmasi: ["Konfirmasi kata sandi tidak sama dengan kata sandi."] });
    return;
  }
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const { data } = await api("POST", "/api/v1/registrations", { json: payload, auth: false, key: newKey() });
    showResult(data);
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    const field = FIELD_FOR_CODE[err.code];
    if (err.code === "validation_error" || field) {
      showMessage(box, "error", "Periksa kembali isian yang ditandai.");
      const left = showFieldErrors(form, field ? { [field]: [err.message] } : err.fields);
      const rest = Object.values(left);
      if (rest.length) showMessage(box, "error", rest.join(" "));
    } else if (err.code === "already_registered") {
      const link = document.createElement("a");
      link.href = "/masuk";
      link.textContent = "Masuk dengan NIP dan kata sandi Anda";
      showMessage(box, "error", `${err.message} `, link);
    } else {
      showMessage(box, "error", err.message);
    }
  } finally {
    button.disabled = false;
  }
});

function showResult(data) {
  form.hidden = true;
  document.getElementById("hasil-nomor").textContent = data.registration_number;
  document.getElementById("hasil-nip").textContent = data.nip;
  document.getElementById("hasil-nama").textContent = data.nama || "";
  document.getElementById("hasil-instansi").textContent = data.instansi_nama || "";
  const receipt = document.getElementById("hasil-tanda-terima");
  if (data.receipt_url) receipt.href = data.receipt_url;
  else receipt.hidden = true;
  const result = document.getElementById("hasil");
  result.hidden = false;
  result.focus();
}
