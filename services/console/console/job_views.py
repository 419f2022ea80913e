"""The page of one job (roster import, campaign close, chain check): a progress bar that updates itself until the
job ends."""
from __future__ import annotations

from console.admin_views import admin_layout, close_summary, number, roster_summary
from console.audit_views import chain_report
from console.views import e, when

REFRESH_SECONDS = 1
TITLES = {"roster_import": ("Impor data induk", "/admin/data-induk"),
          "campaign_close": ("Penutupan kampanye", "/admin/kampanye"),
          "audit_verify": ("Pemeriksaan rantai hash", "/admin/audit")}
STATES = {"queued": "menunggu giliran", "running": "sedang berjalan", "done": "selesai", "failed": "gagal"}
UNITS = {"roster_import": "baris", "campaign_close": "PNS data induk diperiksa",
         "audit_verify": "peristiwa diperiksa (perkiraan)"}


def progress_bar(job: dict) -> str:
    """`<progress>` with the numbers spelled out (screen readers read the text too)."""
    done, total = int(job["progress"].get("done") or 0), int(job["progress"].get("total") or 0)
    share = f" ({done * 100 // total} %)" if total else ""
    return (f'<p><progress id="job-progress" value="{done}" max="{max(total, 1)}" aria-describedby="job-count">'
            f'</progress> <span id="job-count">{number(done)} dari {number(total)} '
            f'{UNITS.get(job["kind"], "")}{share}</span></p>')


def job_page(user: dict, csrf: str, job: dict, filename: str = "") -> str:
    """While the job runs, static/job.js fetches this page every second and swaps `#job` in place (no
    meta refresh: reloading the page would throw keyboard focus and a screen reader back to the top)."""
    title, tab = TITLES.get(job["kind"], ("Pekerjaan", "/admin"))
    status = job["status"]
    body = (f'<div id="job" data-status="{e(status)}"><table class="kv summary"><tr><th>Status</th><td>'
            f'<strong class="job-{e(status)}">{e(STATES.get(status, status))}</strong></td></tr><tr><th>Dimulai</th>'
            f'<td>{when(job.get("created_at"))}</td></tr>'
            + (f'<tr><th>Selesai</th><td>{when(job.get("finished_at"))}</td></tr>' if job.get("finished_at") else "")
            + f'</table>{progress_bar(job)}</div>')
    head, notices = "", {}
    if status in ("queued", "running"):
        head = f'<script src="/static/job.js" defer data-interval-ms="{REFRESH_SECONDS * 1000}"></script>'
        body += ('<p class="hint">Halaman ini memperbarui diri setiap detik. Pekerjaan tetap berjalan walaupun '
                 'halaman ini ditutup, dan dilanjutkan sendiri bila layanan dimulai ulang. '
                 '<a href="">Perbarui sekarang</a></p>')
    elif status == "failed":
        notices["error"] = (job.get("error") or {}).get("message") or "Pekerjaan gagal."
    elif job["kind"] == "roster_import":
        body += roster_summary(job.get("result") or {}, filename)
        notices["flash"] = (f"Impor selesai: {number((job.get('result') or {}).get('imported', 0))} baris dimuat, "
                            f"{number((job.get('result') or {}).get('rejected_total', 0))} ditolak.")
    elif job["kind"] == "audit_verify":
        body += chain_report(job.get("result") or {})  # its verdict is the notice
    elif job["kind"] == "campaign_close":
        body += close_summary(job.get("result") or {})
        notices["flash"] = "Kampanye telah ditutup."
    return admin_layout(title, tab, body, user, csrf, head=head, **notices)
