// The waiting state shown while admission control keeps this browser in line (503 `queue`).
let timer = null;

function region() {
  return document.getElementById("antrean");
}

export function humanWait(seconds) {
  if (seconds < 60) return `sekitar ${seconds} detik`;
  return `sekitar ${Math.round(seconds / 60)} menit`;
}

function line(text) {
  const p = document.createElement("p");
  p.textContent = text;
  return p;
}

// Show position and estimated wait, count down, and resolve when it is time to try again.
// The live region announces position and estimate once per answer; the countdown itself is not announced.
export function waitTurn({ position, seconds, reason }) {
  const box = region();
  const wait = Math.max(1, Math.round(seconds));
  return new Promise((resolve) => {
    clearInterval(timer);
    const title = document.createElement("strong");
    title.textContent = reason === "rate" ? "Terlalu banyak permintaan dalam waktu singkat."
      : "Layanan sedang ramai — Anda berada dalam antrean.";
    const parts = [title];
    if (position > 0) parts.push(line(`Posisi Anda dalam antrean: ${position}`));
    parts.push(line(`Perkiraan waktu tunggu: ${humanWait(wait)}. Jangan menutup halaman ini.`));
    const countdown = line("");
    countdown.setAttribute("aria-live", "off");
    countdown.className = "countdown";
    parts.push(countdown);
    box.replaceChildren(...parts);
    box.hidden = false;
    let left = wait;
    const tick = () => { countdown.textContent = `Mencoba lagi otomatis dalam ${left} detik…`; };
    tick();
    timer = setInterval(() => {
      left -= 1;
      if (left <= 0) {
        clearInterval(timer);
        resolve();
      } else {
        tick();
      }
    }, 1000);
  });
}

export function doneWaiting() {
  clearInterval(timer);
  const box = region();
  if (box && !box.hidden) {
    box.hidden = true;
    box.replaceChildren();
  }
}
