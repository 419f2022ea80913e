"""Per-PNS data keys in their own database (`pupns_keys`), wrapped by the master key, cached with a bound."""
from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from bson.binary import Binary
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pymongo import ASCENDING, MongoClient
from pymongo.database import Database
from pymongo.errors import BulkWriteError, DuplicateKeyError

from pupns import config
from pupns.personal.cache import TTLCache
from pupns.personal.errors import DataKeyNotFound, TamperedTokenError
from pupns.personal.master import MasterKeys

MAX_REASON = 200


@dataclass(frozen=True)
class DataKey:
    """One PNS's data key: `aead` is None once the key was erased (its ciphertexts read as erased)."""

    key_id: str
    nip: str
    aead: AESGCM | None

    @property
    def erased(self) -> bool:
        return self.aead is None


class KeyStore:
    """Creates, finds and erases data keys. Collections: `data_keys` (one per key, wrapped or erased),
    `current` (a NIP's live key id, with a copy of that key as wrapped) and `erasures` (when, why and by whom a
    NIP's keys were destroyed)."""

    def __init__(self, db: Database, master: MasterKeys, cache_size: int | None = None,
                 cache_ttl: float | None = None, clock: Callable[[], float] | None = None):
        self.db, self.master = db, master
        size = config.key_cache_size() if cache_size is None else cache_size
        ttl = config.key_cache_ttl() if cache_ttl is None else cache_ttl
        self.cache = TTLCache(size, ttl, **({"clock": clock} if clock else {}))
        self._client: MongoClient | None = None

    @classmethod
    def from_env(cls) -> KeyStore:
        """The key store named by PUPNS_KEYSTORE_MONGO_URI / PUPNS_KEYSTORE_DB, with PUPNS_MASTER_KEY."""
        master = MasterKeys.from_env()
        client = MongoClient(config.keystore_mongo_uri(), serverSelectionTimeoutMS=5000, tz_aware=True)
        store = cls(client[config.keystore_db()], master)
        store._client = client
        return store

    def close(self) -> None:
        self.cache.clear()
        if self._client is not None:
            self._client.close()

    def ensure_indexes(self) -> None:
        self.db.data_keys.create_index([("nip", ASCENDING)])
        self.db.erasures.create_index([("nip", ASCENDING)])

    # ------------------------------------------------------------------ reading and creating
    def data_key(self, nip: str, create: bool = True) -> DataKey | None:
        """The NIP's live key (made on first use when `create`); None when it has none and may not make one."""
        cached = self.cache.get(("nip", nip))
        if cached is not None:
            return cached
        found = self._live_key(nip)
        if found is None and create:
            found = self._create(nip)
        if found is not None:
            self._remember(found, by_nip=True)
        return found

    def key_by_id(self, nip: str, key_id: str) -> DataKey:
        """The key a token names: erased keys come back with `aead` None; an unknown id is DataKeyNotFound."""
        cached = self.cache.get(("id", key_id))
        if cached is None:
            doc = self.db.data_keys.find_one({"_id": key_id})
            if doc is None:
                raise DataKeyNotFound(f"the key store holds no data key {key_id!r}")
            cached = self._open(doc)
            self._remember(cached, by_nip=False)
        if cached.nip != nip:
            raise TamperedTokenError(f"data key {key_id!r} belongs to another PNS than {nip}")
        return cached

    def _live_key(self, nip: str) -> DataKey | None:
        pointer = self.db.current.find_one({"_id": nip})
        if pointer is None:
            return None
        if pointer.get("wrapped") is not None:  # the pointer's copy of its key: one read instead of two
            return self._open({"_id": pointer["key_id"], "nip": nip, "master_kid": pointer["master_kid"],
                               "wrapped": pointer["wrapped"]})
        doc = self.db.data_keys.find_one({"_id": pointer["key_id"]})
        if doc is None or doc.get("wrapped") is None:
            return None  # an erasure stopped half-way: the pointer names a destroyed key
        return self._open(doc)

    def _open(self, doc: dict) -> DataKey:
        if doc.get("wrapped") is None:
            return DataKey(doc["_id"], doc["nip"], None)
        raw = self.master.unwrap(doc["master_kid"], doc["nip"], doc["_id"], bytes(doc["wrapped"]))
        return DataKey(doc["_id"], doc["nip"], AESGCM(raw))

    def warm(self, nips: Iterable[str]) -> None:
        """Have the live key of every NIP in the cache, making the missing ones, in a few round trips for the whole
        batch instead of several per PNS (a roster import seals thousands of new PNS at once). A NIP whose pointer
        names an erased key, or that another process keys at the same moment, is left to `data_key`."""
        wanted = [nip for nip in dict.fromkeys(nips) if self.cache.get(("nip", nip)) is None]
        if not wanted:
            return
        found = list(self.db.current.find({"_id": {"$in": wanted}}))
        pointers = {p["_id"]: p["key_id"] for p in found}
        docs = {p["key_id"]: {"_id": p["key_id"], "nip": p["_id"], "master_kid": p["master_kid"],
                              "wrapped": p["wrapped"]} for p in found if p.get("wrapped") is not None}
        older = [key_id for key_id in pointers.values() if key_id not in docs]  # pointers without the copy
        if older:
            docs.update({d["_id"]: d for d in self.db.data_keys.find({"_id": {"$in": older}})})
        for key_id in pointers.values():
            if docs.get(key_id, {}).get("wrapped") is not None:
                self._remember(self._open(docs[key_id]), by_nip=True)
        made = {nip: self._new_key(nip) for nip in wanted if nip not in pointers}
        if not made:
            return
        self.db.data_keys.insert_many([doc for doc, _ in made.values()])
        order = list(made)
        try:
            self.db.current.insert_many([pointer_to(made[nip][0]) for nip in order], ordered=False)
            lost: set[str] = set()
        except BulkWriteError as exc:  # keyed by another process meanwhile: theirs stands, ours is dropped
            lost = {order[error["index"]] for error in exc.details.get("writeErrors", [])}
            self.db.data_keys.delete_many({"_id": {"$in": [made[nip][0]["_id"] for nip in lost]}})
        for nip in order:
            if nip not in lost:
                self._remember(made[nip][1], by_nip=True)

    def _new_key(self, nip: str) -> tuple[dict, DataKey]:
        """A fresh data key: its stored document (wrapped by the master key) and the usable key."""
        key_id = secrets.token_hex(8)
        raw = AESGCM.generate_key(bit_length=256)
        master_kid, wrapped = self.master.wrap(nip, key_id, raw)
        doc = {"_id": key_id, "nip": nip, "master_kid": master_kid, "wrapped": Binary(wrapped), "created_at": _now()}
        return doc, DataKey(key_id, nip, AESGCM(raw))

    def _create(self, nip: str) -> DataKey:
        doc, key = self._new_key(nip)
        self.db.data_keys.insert_one(doc)
        try:
            # The common case, a NIP never keyed, costs no read: the unique pointer settles any race.
            self.db.current.insert_one(pointer_to(doc))
        except DuplicateKeyError:
            pointer = self.db.current.find_one({"_id": nip}) or {"key_id": None}
            replaced = self._destroyed(pointer["key_id"]) and self.db.current.update_one(
                {"_id": nip, "key_id": pointer["key_id"]}, {"$set": pointer_to(doc)}).modified_count
            if not replaced:
                # Another process made this NIP's key at the same moment: theirs is the one, ours is dropped.
                self.db.data_keys.delete_one({"_id": key.key_id})
                winner = self._live_key(nip)
                return winner if winner is not None else self._create(nip)
        return key

    def _destroyed(self, key_id: str) -> bool:
        doc = self.db.data_keys.find_one({"_id": key_id}, {"wrapped": 1})
        return doc is None or doc.get("wrapped") is None

    def _remember(self, key: DataKey, by_nip: bool) -> None:
        self.cache.put(("id", key.key_id), key)
        if by_nip:
            self.cache.put(("nip", key.nip), key)

    # ------------------------------------------------------------------ erasure and rotation
    def erase(self, nip: str, reason: str, actor: str) -> dict:
        """Destroy every data key of the NIP (crypto-shredding) and record when, why and by whom.

        Idempotent: a second call destroys nothing more and records nothing new. The record holds no
        personal data: `reason` is a short code or sentence chosen by staff, `actor` a staff username."""
        reason = " ".join(str(reason).split())[:MAX_REASON]
        live = [doc["_id"] for doc in self.db.data_keys.find({"nip": nip, "wrapped": {"$ne": None}}, {"_id": 1})]
        record = {"nip": nip, "erased_at": _now(), "reason": reason, "actor": str(actor), "key_ids": live}
        already = not live and self.db.erasures.count_documents({"nip": nip}) > 0
        # The pointer's copy goes first: from here on a reader goes to `data_keys`, which the next step destroys.
        self.db.current.update_one({"_id": nip}, {"$set": {"wrapped": None, "master_kid": None}})
        if live:
            self.db.data_keys.update_many(
                {"_id": {"$in": live}},
                {"$set": {"wrapped": None, "master_kid": None, "erased_at": record["erased_at"],
                          "erased_reason": reason, "erased_by": record["actor"]}})
        if not already:  # also a NIP that never had a key: the request itself is remembered
            self.db.erasures.insert_one(dict(record))
        self.db.current.delete_one({"_id": nip})
        self.cache.evict_where(lambda _key, value: value.nip == nip)
        return {**record, "already_erased": already}

    def discard(self, subject: str) -> int:
        """Delete every data key of a working subject that is no person (a staged upload, `upload:<id>`) once what
        it sealed is dropped: a copy left anywhere (a backup) can no longer be opened, and the key store does not
        keep a key per upload for ever. No erasure is recorded: that register is for PNS. Returns how many."""
        self.db.current.delete_one({"_id": subject})
        gone = self.db.data_keys.delete_many({"nip": subject}).deleted_count
        self.cache.evict_where(lambda _key, value: value.nip == subject)
        return gone

    def erasures(self, nip: str) -> list[dict]:
        """Every erasure of this NIP, oldest first."""
        return [{k: v for k, v in doc.items() if k != "_id"}
                for doc in self.db.erasures.find({"nip": nip}).sort("erased_at", ASCENDING)]

    def rewrap(self) -> int:
        """Master-key rotation: re-wrap every live key not wrapped by the active master key; returns how many."""
        done = 0
        for doc in self.db.data_keys.find({"wrapped": {"$ne": None}, "master_kid": {"$ne": self.master.active}}):
            raw = self.master.unwrap(doc["master_kid"], doc["nip"], doc["_id"], bytes(doc["wrapped"]))
            kid, wrapped = self.master.wrap(doc["nip"], doc["_id"], raw)
            done += self.db.data_keys.update_one({"_id": doc["_id"], "master_kid": doc["master_kid"]},
                                                 {"$set": {"master_kid": kid, "wrapped": Binary(wrapped)}}
                                                 ).modified_count
            # The pointer's copy follows (a copy left behind still opens while its old master key is configured).
            self.db.current.update_one({"_id": doc["nip"], "key_id": doc["_id"], "wrapped": {"$ne": None}},
                                       {"$set": {"master_kid": kid, "wrapped": Binary(wrapped)}})
        return done


def pointer_to(doc: dict) -> dict:
    """A NIP's `current` pointer to a key document, with a copy of its wrapped key (readers need one read)."""
    return {"_id": doc["nip"], "key_id": doc["_id"], "master_kid": doc["master_kid"], "wrapped": doc["wrapped"]}


def _now() -> datetime:
    return datetime.now(UTC)

