"""Static assets with content-hashed names, computed once at start-up.

`app.js` is served as `/static/app.<hash>.js`. JavaScript modules import each other by relative name
(`import { x } from "./api.js"`); those specifiers are rewritten to the fingerprinted names, dependencies
first, so a change in `api.js` changes the hash of every module that imports it as well.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

STATIC_DIR = Path(__file__).parent / "static"
HASH_LENGTH = 10
CONTENT_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
}
IMPORT = re.compile(r"""(\bfrom\s+|\bimport\s*\(?\s*)(["'])\./([\w.-]+\.js)\2""")


@dataclass(frozen=True)
class Asset:
    """One static file as served: logical name, fingerprinted name, bytes, type and ETag."""

    name: str
    fingerprinted: str
    content: bytes
    content_type: str
    etag: str

    @property
    def url(self) -> str:
        return f"/static/{self.fingerprinted}"


def fingerprint_name(name: str, content: bytes) -> str:
    """`app.js` + content → `app.<first 10 hex of sha256>.js`."""
    digest = hashlib.sha256(content).hexdigest()[:HASH_LENGTH]
    stem, dot, suffix = name.rpartition(".")
    return f"{stem}.{digest}.{suffix}" if dot else f"{name}.{digest}"


def _build(name: str, raw: dict[str, bytes], done: dict[str, Asset], visiting: tuple[str, ...]) -> Asset:
    if name in done:
        return done[name]
    if name in visiting:
        raise ValueError("circular import between static modules: " + " -> ".join((*visiting, name)))
    content = raw[name]
    if name.endswith(".js"):
        def rewrite(match: re.Match) -> str:
            target = match.group(3)
            if target not in raw:
                raise ValueError(f"{name} imports unknown module ./{target}")
            dep = _build(target, raw, done, (*visiting, name))
            return f"{match.group(1)}{match.group(2)}./{dep.fingerprinted}{match.group(2)}"
        content = IMPORT.sub(rewrite, content.decode("utf-8")).encode("utf-8")
    suffix = Path(name).suffix
    asset = Asset(name, fingerprint_name(name, content), content,
                  CONTENT_TYPES.get(suffix, "application/octet-stream"), hashlib.sha256(content).hexdigest()[:32])
    done[name] = asset
    return asset


def load_assets(directory: Path = STATIC_DIR, extra: dict[str, bytes] | None = None) -> dict[str, Asset]:
    """Every file of `directory` (flat) plus generated `extra` files, by logical name."""
    raw = {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file() and not p.name.startswith(".")}
    raw.update(extra or {})
    done: dict[str, Asset] = {}
    for name in raw:
        _build(name, raw, done, ())
    return done


def by_served_name(assets: dict[str, Asset]) -> dict[str, Asset]:
    """Lookup table for `/static/<name>`: fingerprinted names only."""
    return {a.fingerprinted: a for a in assets.values()}


def logical_name(served: str) -> str | None:
    """`app.3f2a9c1b0d.js` → `app.js` (a stale or foreign hash of a known file); None when not that shape."""
    parts = served.split(".")
    if len(parts) < 3 or len(parts[-2]) != HASH_LENGTH or not re.fullmatch(r"[0-9a-f]+", parts[-2]):
        return None
    return ".".join(parts[:-2] + parts[-1:])
