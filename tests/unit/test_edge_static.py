"""The PNS pages and their static assets: fingerprints, caching, types, and never queued."""
from __future__ import annotations

import re

import pytest

from edge.http.web import assets
from edge.http.web.site import PAGES, Site
from pupns.nip import GOLONGAN
from tests.unit.test_edge_errors import make_client

IMMUTABLE = "public, max-age=31536000, immutable"


@pytest.fixture(scope="module")
def client():
    return make_client()[0]


def asset_urls(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="(/static/[^"]+)"', html)


def test_fingerprint_follows_content_and_imports(tmp_path):
    (tmp_path / "api.js").write_text("export const a = 1;\n")
    (tmp_path / "page.js").write_text('import { a } from "./api.js";\nconsole.log(a);\n')
    (tmp_path / "site.css").write_text("body { color: red; }\n")
    first = assets.load_assets(tmp_path)
    assert re.fullmatch(r"api\.[0-9a-f]{10}\.js", first["api.js"].fingerprinted)
    assert f'"./{first["api.js"].fingerprinted}"' in first["page.js"].content.decode()
    (tmp_path / "api.js").write_text("export const a = 2;\n")
    second = assets.load_assets(tmp_path)
    assert second["api.js"].fingerprinted != first["api.js"].fingerprinted
    assert second["page.js"].fingerprinted != first["page.js"].fingerprinted  # its import changed
    assert second["site.css"].fingerprinted == first["site.css"].fingerprinted


def test_unknown_or_circular_imports_fail_at_start_up(tmp_path):
    (tmp_path / "a.js").write_text('import "./missing.js";\n')
    with pytest.raises(ValueError, match="missing.js"):
        assets.load_assets(tmp_path)
    (tmp_path / "a.js").write_text('import "./b.js";\n')
    (tmp_path / "b.js").write_text('import "./a.js";\n')
    with pytest.raises(ValueError, match="circular"):
        assets.load_assets(tmp_path)


@pytest.mark.parametrize("path", [p.path for p in PAGES])
def test_pages_are_html_with_no_cache_and_fingerprinted_assets(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["ETag"] and "script-src 'self'" in response.headers["Content-Security-Policy"]
    html = response.get_data(as_text=True)
    assert '<html lang="id">' in html and "{{" not in html
    urls = asset_urls(html)
    assert any(u.endswith(".css") for u in urls) and any(u.endswith(".js") for u in urls)
    for url in urls:
        assert re.fullmatch(r"/static/[\w-]+\.[0-9a-f]{10}\.\w+", url), url
    again = client.get(path, headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_assets_are_immutable_with_type_and_etag(client):
    html = client.get("/formulir").get_data(as_text=True)
    types = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
    for url in asset_urls(html):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == IMMUTABLE
        assert response.headers["Content-Type"] == types[url[url.rindex("."):]]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert client.get(url, headers={"If-None-Match": response.headers["ETag"]}).status_code == 304


def test_js_modules_import_fingerprinted_names_only(client):
    site = Site()
    for asset in site.assets.values():
        if asset.name.endswith(".js"):
            for target in re.findall(r'from "\./([^"]+)"', asset.content.decode()):
                assert target in site.served, (asset.name, target)


def test_stale_hash_serves_current_file_uncached_and_unknown_is_404_envelope(client):
    site = Site()
    stale = client.get("/static/pupns.0123456789.css")
    assert stale.status_code == 200 and stale.data == site.assets["pupns.css"].content
    assert stale.headers["Cache-Control"] == "no-cache"
    for path in ("/static/nope.0123456789.js", "/static/pupns.css", "/static/../app.py", "/nope"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.json["error"]["code"] == "not_found"


def test_golongan_codes_come_from_the_domain(client):
    html = client.get("/formulir").get_data(as_text=True)
    for code, label in GOLONGAN.items():
        assert f'["{code}","{label}"]' in html


def test_pages_and_assets_are_never_queued():
    client, backend, app = make_client(capacity_initial=1, capacity_min=1, capacity_max=1)
    app.admission.inflight = 5  # saturated: every API newcomer would be turned away
    assert client.post("/api/v1/registrations", json={}).status_code == 503
    assert client.get("/daftar").status_code == 200
    css = app.site.url("pupns.css")
    assert client.get(css).status_code == 200
    assert backend.calls == []


def test_pages_are_not_in_openapi(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert not any(p.startswith("/static") or p in ("/", "/daftar", "/formulir") for p in paths)
