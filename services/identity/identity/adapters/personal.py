"""identity's side of personal data (SPEC §7): the codec for tests and tools, and keyed digests of clear values."""
from __future__ import annotations

import hashlib
import hmac
import threading

from pupns import blind_index, config
from pupns.personal import FieldCodec, KeyStore

_codecs: dict[tuple[str, str], FieldCodec] = {}
_lock = threading.Lock()


def default_codec() -> FieldCodec:
    """A codec over the key store the environment names, one per store per process (tests and tools build `Deps`
    without a nameko worker; the service passes the `PersonalData` dependency's codec instead)."""
    where = (config.keystore_mongo_uri(), config.keystore_db())
    with _lock:
        codec = _codecs.get(where)
        if codec is None:
            keys = KeyStore.from_env()
            keys.ensure_indexes()
            codec = _codecs[where] = FieldCodec(keys)
        return codec


def keyed_digest(purpose: str, text: str) -> str:
    """HMAC-SHA256 of `text` under the blind-index key: compares clear values (a whole roster row, a request)
    without storing them, and cannot be recomputed from a dump (a plain SHA-256 of a NIK could)."""
    return hmac.new(blind_index.key(), f"{purpose}:{text}".encode(), hashlib.sha256).hexdigest()


def staff_subject(username: str) -> str:
    """The key-store subject of a staff account's password hash."""
    return f"staff:{username}"
