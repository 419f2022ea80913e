// A running job's page (job_views.job_page): fetch the page again every interval and put the new state in
// place of the old one. Once the job has ended, the page's whole content is replaced by the result.
const script = document.currentScript;
const interval = Number(script?.dataset.intervalMs) || 1000;
const RUNNING = ["queued", "running"];

async function refresh() {
  let fresh;
  try {
    const response = await fetch(location.href, { cache: "no-store", credentials: "same-origin" });
    fresh = new DOMParser().parseFromString(await response.text(), "text/html");
  } catch (_) {
    setTimeout(refresh, interval * 5); // the console is restarting: try again a little later
    return;
  }
  const next = fresh.getElementById("job");
  if (!next) {
    location.reload(); // a login or error page instead (session ended, job unknown): show it as it is
    return;
  }
  if (RUNNING.includes(next.dataset.status)) {
    document.getElementById("job").replaceWith(document.importNode(next, true));
    setTimeout(refresh, interval);
    return;
  }
  document.querySelector("main").replaceWith(document.importNode(fresh.querySelector("main"), true));
  document.title = fresh.title;
}

if (RUNNING.includes(document.getElementById("job")?.dataset.status)) setTimeout(refresh, interval);
