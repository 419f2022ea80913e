"""verification's side of personal data (SPEC §7): the codec for tests, tools and the relay's translator."""
from __future__ import annotations

import threading
from typing import Any

from pupns import config
from pupns.personal import ERASED_MARKER, FieldCodec, KeyStore, open_fields

_codecs: dict[tuple[str, str], FieldCodec] = {}
_lock = threading.Lock()


def default_codec() -> FieldCodec:
    """A codec over the key store the environment names, one per store per process (tests and tools build `Deps`
    without a nameko worker; the service passes its `PersonalData` dependency's codec instead)."""
    where = (config.keystore_mongo_uri(), config.keystore_db())
    with _lock:
        codec = _codecs.get(where)
        if codec is None:
            keys = KeyStore.from_env()
            keys.ensure_indexes()
            codec = _codecs[where] = FieldCodec(keys)
        return codec


def opened(codec: FieldCodec, nip: str, data: Any) -> tuple[Any, bool]:
    """`data` with every token opened, and whether any value was erased (the marker is returned, not kept)."""
    found = open_fields(codec, nip, data)
    erased = isinstance(found, dict) and bool(found.pop(ERASED_MARKER, False))
    return found, erased
