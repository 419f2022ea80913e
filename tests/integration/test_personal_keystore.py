"""The key store against a real SecantusDB: creation, cache, erasure (also seen by another process's store),
rotation, and a dump of the key store that holds no clear data key."""
from __future__ import annotations

import base64
import uuid
from concurrent.futures import ThreadPoolExecutor

import bson
import pytest

from pupns import config
from pupns.personal import (
    ERASED,
    ERASED_MARKER,
    FieldCodec,
    KeyStore,
    MasterKeyError,
    MasterKeys,
    open_fields,
    random_master_key,
    seal_fields,
)
from pupns.personal.codec import TOKEN_PREFIX
from pupns.personal.errors import DataKeyNotFound
from tests.clock import Clock


def new_nip() -> str:
    return f"19850315201001{uuid.uuid4().int % 9000 + 1000}"


@pytest.fixture
def keys_db(mongo_client, db_prefix):
    return mongo_client[db_prefix + "keys"]


@pytest.fixture
def master():
    return MasterKeys.parse(f"k1:{random_master_key()}")


def open_store(db, master, **options) -> KeyStore:
    store = KeyStore(db, master, **options)
    store.ensure_indexes()
    return store


def test_from_env_opens_the_keys_database_of_this_run(db_prefix, monkeypatch):
    monkeypatch.setenv("PUPNS_MASTER_KEY", random_master_key())
    store = KeyStore.from_env()
    try:
        assert store.db.name == db_prefix + "keys" == config.keystore_db()
        store.ensure_indexes()
        assert store.data_key(new_nip()).key_id
    finally:
        store.close()


def test_a_key_is_made_once_per_nip_and_every_store_finds_the_same_one(keys_db, master):
    nip = new_nip()
    first, second = open_store(keys_db, master), open_store(keys_db, master)
    assert first.data_key(nip, create=False) is None
    key = first.data_key(nip)
    assert first.data_key(nip) is key  # cached
    assert second.data_key(nip, create=False).key_id == key.key_id
    token = FieldCodec(first, enabled=True).seal(nip, "3174015503850001")
    assert FieldCodec(second, enabled=True).open_(nip, token) == "3174015503850001"
    assert keys_db.data_keys.count_documents({"nip": nip}) == 1


def test_a_store_racing_another_keeps_the_winner_s_key(keys_db, master):
    nip = new_nip()
    first, second = open_store(keys_db, master), open_store(keys_db, master)
    winner = first._create(nip)
    assert second._create(nip).key_id == winner.key_id  # the loser finds the live pointer and drops its key
    assert [d["_id"] for d in keys_db.data_keys.find({"nip": nip})] == [winner.key_id]


def test_erasure_destroys_the_key_remembers_why_and_a_new_registration_gets_a_new_key(keys_db, master):
    nip = new_nip()
    store = open_store(keys_db, master)
    codec = FieldCodec(store, enabled=True)
    sealed = seal_fields(codec, nip, {"nama": "Siti", "nik": "3174015503850001", "email": "siti@example.go.id"})
    blob = codec.seal_bytes(nip, b"%PDF ijazah")
    old_key = store.data_key(nip).key_id
    done = store.erase(nip, reason="impostor  registration", actor="admin")
    assert done["key_ids"] == [old_key] and done["already_erased"] is False
    assert store.data_key(nip, create=False) is None
    assert open_fields(codec, nip, sealed) == {"nama": "Siti", "nik": None, "email": None, ERASED_MARKER: True}
    assert codec.open_bytes(nip, blob) is ERASED
    again = store.erase(nip, reason="impostor registration", actor="admin")
    assert again["already_erased"] is True and again["key_ids"] == []
    (record,) = store.erasures(nip)
    assert set(record) == {"nip", "erased_at", "reason", "actor", "key_ids"}
    assert record["reason"] == "impostor registration" and record["actor"] == "admin"
    doc = keys_db.data_keys.find_one({"_id": old_key})
    assert doc["wrapped"] is None and doc["erased_by"] == "admin"
    assert keys_db.current.find_one({"_id": nip}) is None  # nor its pointer's copy of the key
    fresh = store.data_key(nip, create=True)
    assert fresh.key_id != old_key
    assert open_fields(codec, nip, sealed)["nik"] is None  # the old key never comes back
    assert codec.open_(nip, codec.seal(nip, "081234567890")) == "081234567890"


def test_erasing_a_nip_that_never_had_a_key_is_remembered_once(keys_db, master):
    nip, store = new_nip(), open_store(keys_db, master)
    assert store.erase(nip, "retensi berakhir", "admin")["already_erased"] is False
    assert store.erase(nip, "retensi berakhir", "admin")["already_erased"] is True
    assert len(store.erasures(nip)) == 1


def test_discarding_a_working_subject_deletes_its_keys_without_an_erasure_record(keys_db, master):
    upload, nip = f"upload:{uuid.uuid4().hex}", new_nip()
    store = open_store(keys_db, master)
    codec = FieldCodec(store, enabled=True)
    chunk, other = codec.seal(upload, "nip,nik\n198503152010011001,3174015503850001\n"), codec.seal(nip, "Siti")
    assert store.data_key(upload, create=False) is not None  # cached
    assert codec.discard(upload) == 1
    assert store.data_key(upload, create=False) is None  # gone from the cache too
    assert keys_db.data_keys.count_documents({"nip": upload}) == 0 and keys_db.current.find_one({"_id": upload}) is None
    with pytest.raises(DataKeyNotFound):  # a copy of the chunk kept anywhere can no longer be opened
        open_store(keys_db, master).key_by_id(upload, chunk.removeprefix(TOKEN_PREFIX).partition(":")[0])
    assert store.erasures(upload) == [] and codec.open_(nip, other) == "Siti"  # nobody else's key is touched
    assert codec.discard(upload) == 0


def test_another_process_sees_an_erasure_within_the_cache_ttl(keys_db, master):
    nip, clock = new_nip(), Clock(0.0)
    here = open_store(keys_db, master)
    there = open_store(keys_db, master, cache_ttl=30, clock=clock)
    token = FieldCodec(here, enabled=True).seal(nip, "3174015503850001")
    reader = FieldCodec(there, enabled=True)
    assert reader.open_(nip, token) == "3174015503850001"  # now cached over there
    here.erase(nip, "impostor", "admin")
    assert FieldCodec(here, enabled=True).open_(nip, token) is ERASED  # this process: at once
    clock.now = 29.0
    assert reader.open_(nip, token) == "3174015503850001"  # the documented bound: up to the TTL
    clock.now = 30.0
    assert reader.open_(nip, token) is ERASED
    uncached = open_store(keys_db, master, cache_ttl=0)
    assert FieldCodec(uncached, enabled=True).open_(nip, token) is ERASED


def test_rotation_rewraps_every_live_key_under_the_new_master_key(keys_db):
    nip, old_key, new_key = new_nip(), random_master_key(), random_master_key()
    old = MasterKeys.parse(f"k1:{old_key}")
    token = FieldCodec(open_store(keys_db, old), enabled=True).seal(nip, "012345678901234")
    rotated = MasterKeys.parse(f"k2:{new_key},k1:{old_key}")
    assert open_store(keys_db, rotated).rewrap() == 1
    assert keys_db.data_keys.find_one({"nip": nip})["master_kid"] == "k2"
    only_new = open_store(keys_db, MasterKeys.parse(f"k2:{new_key}"))
    assert FieldCodec(only_new, enabled=True).open_(nip, token) == "012345678901234"
    sealer = FieldCodec(only_new, enabled=True)  # sealing finds the key by its NIP's pointer: rewrapped too
    assert sealer.open_(nip, sealer.seal(nip, "3174015503850001")) == "3174015503850001"
    with pytest.raises(MasterKeyError):
        FieldCodec(open_store(keys_db, old), enabled=True).open_(nip, token)


def test_a_dump_of_the_key_store_holds_no_clear_data_key(keys_db, master):
    store = open_store(keys_db, master)
    codec = FieldCodec(store, enabled=True)
    nips = sorted({new_nip() for _ in range(5)})
    for nip in nips:
        codec.seal(nip, "3174015503850001")
    store.erase(nips[0], "impostor", "admin")
    raw_keys = []
    for doc in keys_db.data_keys.find({"wrapped": {"$ne": None}}):
        raw_keys.append(master.unwrap(doc["master_kid"], doc["nip"], doc["_id"], bytes(doc["wrapped"])))
    assert len(raw_keys) >= 4
    dump = b"".join(bson.encode(doc) for name in keys_db.list_collection_names() for doc in keys_db[name].find())
    for raw in raw_keys:
        for form in (raw, base64.b64encode(raw), base64.urlsafe_b64encode(raw), base64.b64encode(raw).rstrip(b"="),
                     raw.hex().encode(), raw.hex().upper().encode()):
            assert form not in dump
    stranger = MasterKeys({"k1": b"\x07" * 32})
    doc = keys_db.data_keys.find_one({"wrapped": {"$ne": None}})
    with pytest.raises(MasterKeyError):
        stranger.unwrap(doc["master_kid"], doc["nip"], doc["_id"], bytes(doc["wrapped"]))


def test_stores_racing_for_the_same_nips_all_end_with_one_key_per_nip(keys_db, master):
    nips = sorted({new_nip() for _ in range(6)})
    stores = [open_store(keys_db, master) for _ in range(4)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        found = list(pool.map(lambda job: (job[1], job[0].data_key(job[1]).key_id),
                              [(store, nip) for nip in nips for store in stores]))
    for nip in nips:
        assert len({key_id for n, key_id in found if n == nip}) == 1, nip
        assert keys_db.data_keys.count_documents({"nip": nip}) == 1


def test_warming_a_batch_makes_and_caches_one_key_per_nip_and_keeps_existing_ones(keys_db, master):
    first = open_store(keys_db, master)
    existing = new_nip()
    before = first.data_key(existing)
    batch = list(dict.fromkeys([existing, *(new_nip() for _ in range(40))]))  # random NIPs may repeat: distinct
    warm = open_store(keys_db, master)
    warm.warm(batch + batch[:3])  # repeats are harmless
    assert all(warm.cache.get(("nip", nip)) is not None for nip in batch)
    assert warm.data_key(existing).key_id == before.key_id  # an existing key is kept, not replaced
    other = open_store(keys_db, master)
    assert [other.data_key(nip, create=False).key_id for nip in batch] == [warm.data_key(nip).key_id for nip in batch]
    assert keys_db.data_keys.count_documents({"nip": {"$in": batch}}) == len(batch)
    codec = FieldCodec(other)
    assert codec.open_(batch[5], FieldCodec(warm).seal(batch[5], "3174010101900001")) == "3174010101900001"


def test_warming_loses_a_race_gracefully_and_leaves_no_orphan_key(keys_db, master):
    nip = new_nip()
    racer = open_store(keys_db, master)
    warm = open_store(keys_db, master)
    real_find = warm.db.current.find

    class Racing:
        """Between warm's read of the pointers and its insert, another process keys the same NIP."""

        def __getattr__(self, name):
            return getattr(keys_db.current, name)

        def find(self, *args, **kwargs):
            found = list(real_find(*args, **kwargs))
            racer.data_key(nip)
            return found

    warm.db = type("Db", (), {"current": Racing(), "data_keys": keys_db.data_keys})()
    warm.warm([nip])
    assert warm.cache.get(("nip", nip)) is None  # not ours: left to data_key
    assert keys_db.data_keys.count_documents({"nip": nip}) == 1  # our losing key was removed
    assert open_store(keys_db, master).data_key(nip).key_id == racer.data_key(nip).key_id


def test_a_process_finds_a_nip_s_key_in_one_read_of_its_pointer(keys_db, master):
    from pymongo import MongoClient, monitoring

    class Finds(monitoring.CommandListener):
        def __init__(self) -> None:
            self.collections: list[str] = []

        def started(self, event) -> None:
            if event.command_name == "find":
                self.collections.append(event.command["find"])

        def succeeded(self, event) -> None:
            pass

        def failed(self, event) -> None:
            pass

    nip, finds = new_nip(), Finds()
    made = open_store(keys_db, master).data_key(nip)
    host, port = keys_db.client.address
    with MongoClient(host, port, directConnection=True, event_listeners=[finds]) as client:
        found = open_store(client[keys_db.name], master).data_key(nip, create=False)
    assert found.key_id == made.key_id and finds.collections == ["current"]
