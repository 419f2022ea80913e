"""Sealed values: a personal field becomes "enc:v1:<key id>:<base64>", a document's bytes a PUPNSENC1 blob."""
from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Iterable
from typing import Any

from cryptography.exceptions import InvalidTag

from pupns import config
from pupns.personal.errors import ERASED, TamperedTokenError
from pupns.personal.keystore import DataKey, KeyStore

TOKEN_PREFIX = "enc:v1:"
BLOB_MAGIC = b"PUPNSENC1"
KEY_ID_BYTES = 16  # secrets.token_hex(8)
NONCE_BYTES = 12


def is_sealed(value: Any) -> bool:
    """True for a sealed field token (a string that starts with "enc:v1:")."""
    return isinstance(value, str) and value.startswith(TOKEN_PREFIX)


def is_sealed_blob(data: bytes) -> bool:
    """True for sealed document bytes."""
    return bytes(data[:len(BLOB_MAGIC)]) == BLOB_MAGIC


class FieldCodec:
    """Seals and opens one PNS's personal values with that PNS's data key (SPEC §7).

    `enabled` False (PUPNS_ENCRYPTION=off, development benchmarks only) makes sealing a no-op; opening still
    reads any token it meets, so data written either way stays readable."""

    def __init__(self, keys: KeyStore, enabled: bool | None = None):
        self.keys = keys
        self.enabled = config.encryption_enabled() if enabled is None else enabled

    def sealed_with_erased_key(self, nip: str, value: Any) -> bool:
        """True when `value` is a token whose data key was erased; decided from the key store alone (no decryption)."""
        if not is_sealed(value):
            return False
        key_id = value[len(TOKEN_PREFIX):].partition(":")[0]
        return self.keys.key_by_id(nip, key_id).erased

    def discard(self, subject: str) -> int:
        """Delete the data keys of a working subject whose sealed values are dropped (KeyStore.discard)."""
        return self.keys.discard(subject)

    def warm(self, nips: Iterable[str]) -> None:
        """Make and cache the data keys of many PNS at once, before sealing their values (a roster import)."""
        if self.enabled:
            self.keys.warm(nips)

    # ------------------------------------------------------------------ text fields
    def seal(self, nip: str, value: Any) -> Any:
        """The sealed token of a JSON value; None, and an already sealed token, are returned as they are."""
        if value is None or is_sealed(value) or not self.enabled:
            return value
        key = self.keys.data_key(nip, create=True)
        plain = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
        nonce = os.urandom(NONCE_BYTES)
        sealed = nonce + key.aead.encrypt(nonce, plain, _aad("field", nip, key.key_id))
        return f"{TOKEN_PREFIX}{key.key_id}:{base64.urlsafe_b64encode(sealed).decode().rstrip('=')}"

    def open_(self, nip: str, token: Any) -> Any:
        """The clear value of a token, ERASED when its data key was erased; anything not sealed as it is."""
        if not is_sealed(token):
            return token
        key_id, _, body = token[len(TOKEN_PREFIX):].partition(":")
        try:
            sealed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except (binascii.Error, ValueError):
            raise TamperedTokenError("a sealed value is not valid base64") from None
        key = self.keys.key_by_id(nip, key_id)
        if key.erased:
            return ERASED
        return json.loads(_decrypt(key, sealed, _aad("field", nip, key_id)))

    # ------------------------------------------------------------------ document contents
    def seal_bytes(self, nip: str, data: bytes) -> bytes:
        """A document's contents sealed: magic, key id, nonce, ciphertext and tag (no base64: blobs stay compact)."""
        if not self.enabled or is_sealed_blob(data):
            return data
        key = self.keys.data_key(nip, create=True)
        nonce = os.urandom(NONCE_BYTES)
        return (BLOB_MAGIC + key.key_id.encode() + nonce
                + key.aead.encrypt(nonce, bytes(data), _aad("blob", nip, key.key_id)))

    def open_bytes(self, nip: str, blob: bytes) -> bytes | object:
        """A document's clear contents, ERASED when the data key was erased; unsealed bytes as they are."""
        if not is_sealed_blob(blob):
            return blob
        blob = bytes(blob)
        start = len(BLOB_MAGIC)
        key_id = blob[start:start + KEY_ID_BYTES].decode("ascii", "replace")
        key = self.keys.key_by_id(nip, key_id)
        if key.erased:
            return ERASED
        return _decrypt(key, blob[start + KEY_ID_BYTES:], _aad("blob", nip, key_id))


def _decrypt(key: DataKey, sealed: bytes, aad: bytes) -> bytes:
    try:
        return key.aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], aad)
    except InvalidTag:
        raise TamperedTokenError(f"a value sealed with data key {key.key_id} failed authentication "
                                 "(altered, or copied from another PNS's record)") from None


def _aad(kind: str, nip: str, key_id: str) -> bytes:
    # The NIP in the associated data: a token pasted into another PNS's record does not open there.
    return f"pupns:{kind}:v1:{nip}:{key_id}".encode()
