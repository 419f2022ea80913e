"""Personal data that a database leak cannot yield (SPEC §7): envelope encryption per PNS, crypto-shredding.

    keys = KeyStore.from_env(); keys.ensure_indexes()
    codec = FieldCodec(keys)
    sealed = seal_fields(codec, nip, section)      # every personal field -> "enc:v1:<key id>:<b64>"
    clear = open_fields(codec, nip, sealed)        # erased fields -> None, record gets {"_erased": True}
    keys.erase(nip, reason="impostor", actor="admin")

Design and wiring plan: docs/PERSONAL_DATA.md.
"""
from __future__ import annotations

from pupns.blind_index import blind_index
from pupns.personal.codec import TOKEN_PREFIX, FieldCodec, is_sealed, is_sealed_blob
from pupns.personal.errors import ERASED, DataKeyNotFound, MasterKeyError, PersonalDataError, TamperedTokenError
from pupns.personal.fields import (
    ERASED_MARKER,
    PERSONAL_FIELDS,
    clear_value,
    has_personal_fields,
    open_fields,
    opened,
    seal_fields,
)
from pupns.personal.keystore import DataKey, KeyStore
from pupns.personal.master import MasterKeys, random_master_key

__all__ = [
    "ERASED", "ERASED_MARKER", "PERSONAL_FIELDS", "TOKEN_PREFIX", "DataKey", "DataKeyNotFound", "FieldCodec",
    "KeyStore", "MasterKeyError", "MasterKeys", "PersonalDataError", "TamperedTokenError", "blind_index",
    "clear_value", "has_personal_fields", "is_sealed", "is_sealed_blob", "open_fields", "opened",
    "random_master_key", "seal_fields",
]
