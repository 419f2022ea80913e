"""forms' side of personal data (SPEC §7): the codec for tests and tools, and what a command needs of it."""
from __future__ import annotations

import threading
from typing import Any

from pupns import config
from pupns.personal import ERASED, ERASED_MARKER, TOKEN_PREFIX, FieldCodec, KeyStore, is_sealed, open_fields

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


def clear_value(codec: FieldCodec, nip: str, value: Any) -> Any:
    """One value in clear for a rule run inside a command (None when it was erased)."""
    opened = codec.open_(nip, value)
    return None if opened is ERASED else opened


def opened(codec: FieldCodec, nip: str, data: Any) -> tuple[Any, bool]:
    """`data` with every token opened, and whether any value was erased (the marker is returned, not kept)."""
    found = open_fields(codec, nip, data)
    erased = isinstance(found, dict) and bool(found.pop(ERASED_MARKER, False))
    return found, erased


def sealed_with_erased_key(codec: FieldCodec, nip: str, value: Any) -> bool:
    """True when `value` is a token whose data key was erased; decided from the key store alone (no decryption)."""
    if not is_sealed(value):
        return False
    key_id = value[len(TOKEN_PREFIX):].partition(":")[0]
    return codec.keys.key_by_id(nip, key_id).erased
