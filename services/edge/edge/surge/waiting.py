"""The waiting page a browser sees when the edge is full: Bahasa Indonesia, refreshes itself."""
from __future__ import annotations

import html

from werkzeug.wrappers import Request, Response

PAGE = """<!doctype html>
<html lang="id"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="{retry}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Antrean PUPNS</title>
<style>body{{font-family:sans-serif;max-width:36em;margin:3em auto;padding:0 1em;line-height:1.5}}
.pos{{font-size:2.5em;font-weight:bold}}</style></head>
<body><main><h1>Mohon menunggu</h1>
<p>Sistem Pendataan Ulang PNS sedang melayani banyak pengguna. Anda sudah berada dalam antrean;
jangan menutup halaman ini. Halaman akan dimuat ulang otomatis.</p>
<p>Posisi Anda dalam antrean:</p><p class="pos">{position}</p>
<p>Perkiraan waktu tunggu: <strong>{wait}</strong>.</p>
<p><small>Posisi Anda tetap tersimpan selama Anda membuka halaman ini dari peramban yang sama.</small></p>
</main></body></html>
"""


def wants_html(request: Request) -> bool:
    accept = request.accept_mimetypes
    return accept.best_match(["application/json", "text/html"]) == "text/html"


def human_wait(seconds: int) -> str:
    if seconds < 60:
        return f"sekitar {seconds} detik"
    return f"sekitar {round(seconds / 60)} menit"


def waiting_page(queue: dict) -> Response:
    """503 with the position, an estimate and a meta refresh (the caller sets the ticket's cookie, as for JSON)."""
    retry = int(queue["retry_after"])
    body = PAGE.format(retry=retry, position=html.escape(str(queue["position"])), wait=human_wait(retry))
    return Response(body, status=503, content_type="text/html; charset=utf-8",
                    headers={"Retry-After": str(retry), "Cache-Control": "no-store"})
