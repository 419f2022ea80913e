"""The PNS pages: HTML shells rendered once at start-up, and `/static/<name>` with immutable caching.

Neither is subject to admission control (they are routed as `ops`): a shell or an asset costs
microseconds and no back-end call, and a page that cannot load could not even show the waiting
state. The API calls the pages make are admitted or queued like any client's.
"""
from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from werkzeug.wrappers import Response

from edge.http.routing import Ctx, Route
from edge.http.web import assets as assets_mod
from pupns.errors import AppError
from pupns.nip import GOLONGAN, TINGKAT_PENDIDIKAN

PAGES_DIR = Path(__file__).parent / "pages"
IMMUTABLE = "public, max-age=31536000, immutable"
SECURITY = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
PLACEHOLDER = re.compile(r"\{\{\s*([\w:.-]+)\s*\}\}")

# The form's select lists: codes from the domain's one source (pupns.nip), labels for people.
JENIS_JABATAN = {"struktural": "Struktural", "fungsional_tertentu": "Fungsional tertentu",
                 "fungsional_umum": "Fungsional umum"}
JENIS_KELAMIN = {"L": "Laki-laki", "P": "Perempuan"}


def reference_lists() -> dict[str, list[list[str]]]:
    """[[code, label], ...] per list; golongan labels read "III/a Penata Muda"."""
    return {
        "golongan": [[code, label] for code, label in GOLONGAN.items()],
        "tingkat": [[t, t] for t in TINGKAT_PENDIDIKAN],
        "jenis_jabatan": [[k, v] for k, v in JENIS_JABATAN.items()],
        "jenis_kelamin": [[k, v] for k, v in JENIS_KELAMIN.items()],
    }


def reference_json() -> str:
    """The lists as JSON that is safe inside a `<script type="application/json">` block."""
    return json.dumps(reference_lists(), ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")


@dataclass(frozen=True)
class Page:
    path: str
    name: str  # template pages/<name>.html, script static/<name>.js when present
    title: str
    auth: str = ""  # "in": shown to a logged-in PNS, "out": to a visitor, "": to both


PAGES = (Page("/", "beranda", "Beranda"), Page("/daftar", "daftar", "Daftar", "out"),
         Page("/masuk", "masuk", "Masuk", "out"), Page("/status", "status", "Status saya", "in"),
         Page("/formulir", "formulir", "Formulir", "in"))


class Site:
    """Rendered pages and fingerprinted assets, built once; handlers only look things up."""

    def __init__(self, static_dir: Path = assets_mod.STATIC_DIR, pages_dir: Path = PAGES_DIR) -> None:
        self.assets = assets_mod.load_assets(static_dir)
        self.served = assets_mod.by_served_name(self.assets)
        layout = (pages_dir / "layout.html").read_text(encoding="utf-8")
        self.pages: dict[str, tuple[bytes, str]] = {}
        for page in PAGES:
            body = self._render(layout, page, (pages_dir / f"{page.name}.html").read_text(encoding="utf-8"))
            self.pages[page.path] = (body, hashlib.sha256(body).hexdigest()[:32])

    # -- rendering ------------------------------------------------------------------
    def url(self, name: str) -> str:
        return self.assets[name].url

    def _render(self, layout: str, page: Page, content: str) -> bytes:
        script = f"{page.name}.js" if f"{page.name}.js" in self.assets else "ui.js"
        values = {"title": html.escape(page.title), "nav": self._nav(page), "content": content,
                  "script": self.url(script), "codes": reference_json()}

        def fill(match: re.Match) -> str:
            key = match.group(1)
            if key.startswith("asset:"):
                return self.url(key.removeprefix("asset:"))
            if key not in values:
                raise KeyError(f"unknown placeholder {{{{{key}}}}} in page {page.name}")
            return values[key]
        # content first (it may hold placeholders itself), then the layout around it
        values["content"] = PLACEHOLDER.sub(fill, content)
        return PLACEHOLDER.sub(fill, layout).encode("utf-8")

    @staticmethod
    def _nav(current: Page) -> str:
        items = []
        for page in PAGES:
            aria = ' aria-current="page"' if page is current else ""
            auth = f' data-auth="{page.auth}"' if page.auth else ""
            items.append(f'<li{auth}><a href="{page.path}"{aria}>{html.escape(page.title)}</a></li>')
        items.append('<li data-auth="in"><button type="button" class="link" id="keluar">Keluar</button></li>')
        return "\n".join(items)

    # -- handlers -------------------------------------------------------------------
    def page_handler(self, path: str) -> Callable[[Ctx], Response]:
        def page(ctx: Ctx) -> Response:
            body, etag = self.pages[path]
            response = Response(body, content_type="text/html; charset=utf-8",
                                headers={"Cache-Control": "no-cache", "Content-Security-Policy": CSP, **SECURITY})
            response.set_etag(etag)
            return response.make_conditional(ctx.request)
        page.__name__ = page.__doc__ = f"page {path}"
        return page

    def static(self, ctx: Ctx) -> Response:
        """GET /static/<name>: immutable under its fingerprint; a stale hash gets today's file, uncached."""
        # ops routes get no path parameters, so read the name from the path itself
        name = ctx.params.get("name") or ctx.request.path.removeprefix("/static/")
        asset, cache = self.served.get(name), IMMUTABLE
        if asset is None:
            logical = assets_mod.logical_name(name)
            asset = self.assets.get(logical) if logical else None
            cache = "no-cache"  # a page from another replica or release: serve, but never pin this name
        if asset is None:
            raise AppError("not_found", "Berkas tidak ditemukan.")
        response = Response(asset.content, content_type=asset.content_type,
                            headers={"Cache-Control": cache, **SECURITY})
        response.set_etag(asset.etag)
        return response.make_conditional(ctx.request)

    def routes(self) -> list[Route]:
        """Routed like the health checks: no auth, no admission control, not in openapi.json."""
        pages = [Route("GET", p.path, self.page_handler(p.path), ops=True, produces="text/html") for p in PAGES]
        return [*pages, Route("GET", "/static/<path:name>", self.static, ops=True, produces="*/*")]
