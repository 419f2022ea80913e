"""The nameko dependency that gives a service's workers the personal-data codec (one key store per process)."""
from __future__ import annotations

import threading

from nameko.extensions import DependencyProvider

from pupns import config
from pupns.personal.codec import FieldCodec
from pupns.personal.keystore import KeyStore

_codecs: dict[tuple[str, str], FieldCodec] = {}
_lock = threading.Lock()


def default_codec() -> FieldCodec:
    """A codec over the key store the environment names, one per store per process (tests and tools build a
    service's `Deps` without a nameko worker; a running service passes its `PersonalData` dependency's codec)."""
    where = (config.keystore_mongo_uri(), config.keystore_db())
    with _lock:
        codec = _codecs.get(where)
        if codec is None:
            keys = KeyStore.from_env()
            keys.ensure_indexes()
            codec = _codecs[where] = FieldCodec(keys)
        return codec


class PersonalData(DependencyProvider):
    """Workers get a `FieldCodec`; the key store connection and its key cache live as long as the process."""

    def __init__(self) -> None:
        self.keys: KeyStore | None = None
        self.codec: FieldCodec | None = None

    def setup(self) -> None:
        # KeyStore.from_env refuses a production start without the master key or the key store's address.
        self.keys = KeyStore.from_env()
        self.keys.ensure_indexes()
        self.codec = FieldCodec(self.keys)

    def stop(self) -> None:
        if self.keys is not None:
            self.keys.close()

    def get_dependency(self, worker_ctx) -> FieldCodec:
        return self.codec
