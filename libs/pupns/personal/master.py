"""The master key(s) that wrap every PNS's data key; held outside the database (PUPNS_MASTER_KEY)."""
from __future__ import annotations

import base64
import binascii
import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from pupns import config
from pupns.personal.errors import MasterKeyError

NONCE_BYTES = 12


def key_fingerprint(key: bytes) -> str:
    """A stable id for a master key given without one (a hash: it tells nothing about the key)."""
    return "m" + hashlib.sha256(b"pupns master key id:" + key).hexdigest()[:10]


def _decode(text: str) -> bytes:
    text = text.strip()
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_" if "-" in text or "_" in text else None,
                               validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise MasterKeyError("PUPNS_MASTER_KEY: each key must be the base64 of 32 random bytes "
                             "(e.g. python -c 'import base64,os; print(base64.b64encode(os.urandom(32)).decode())')")
    return raw


class MasterKeys:
    """Master keys by id: the first wraps new data keys, every one unwraps (rotation keeps the old ones a while)."""

    def __init__(self, keys: dict[str, bytes]):
        if not keys:
            raise MasterKeyError("PUPNS_MASTER_KEY holds no key")
        self.active = next(iter(keys))
        self._aead = {kid: AESGCM(key) for kid, key in keys.items()}

    @classmethod
    def parse(cls, spec: str) -> MasterKeys:
        """Read "[kid:]base64[,[kid:]base64...]"; a key without a kid is named by its fingerprint."""
        keys: dict[str, bytes] = {}
        for item in filter(None, (part.strip() for part in spec.split(","))):
            kid, _, encoded = item.rpartition(":")
            raw = _decode(encoded)
            keys[kid.strip() or key_fingerprint(raw)] = raw
        return cls(keys)

    @classmethod
    def from_env(cls) -> MasterKeys:
        """PUPNS_MASTER_KEY (a development default outside production; production refuses to start without it)."""
        return cls.parse(config.master_key_spec())

    @property
    def ids(self) -> list[str]:
        return list(self._aead)

    def wrap(self, nip: str, key_id: str, data_key: bytes) -> tuple[str, bytes]:
        """Encrypt a data key with the active master key, bound to its NIP and key id."""
        nonce = os.urandom(NONCE_BYTES)
        return self.active, nonce + self._aead[self.active].encrypt(nonce, data_key, _aad(nip, key_id))

    def unwrap(self, master_id: str, nip: str, key_id: str, wrapped: bytes) -> bytes:
        """Decrypt a wrapped data key; a missing or wrong master key is a MasterKeyError, never a wrong key."""
        aead = self._aead.get(master_id)
        if aead is None:
            raise MasterKeyError(f"data key {key_id} is wrapped by master key {master_id!r}, which PUPNS_MASTER_KEY "
                                 f"does not hold (it holds {', '.join(self.ids)})")
        try:
            return aead.decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], _aad(nip, key_id))
        except InvalidTag:
            raise MasterKeyError(f"data key {key_id} does not open with master key {master_id!r}: "
                                 "wrong PUPNS_MASTER_KEY, or the stored key was altered") from None


def _aad(nip: str, key_id: str) -> bytes:
    # Binding the NIP and key id: a wrapped key copied onto another PNS's record does not unwrap.
    return f"pupns-data-key:v1:{nip}:{key_id}".encode()


def random_master_key() -> str:
    """A fresh master key in PUPNS_MASTER_KEY's form (base64 of 32 random bytes)."""
    return base64.b64encode(os.urandom(32)).decode()
