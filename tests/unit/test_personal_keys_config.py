"""Master keys, the key cache and the personal-data settings (production refuses what development allows)."""
from __future__ import annotations

import base64

import pytest

from pupns import config
from pupns.personal import FieldCodec, MasterKeyError, MasterKeys, random_master_key
from pupns.personal.cache import TTLCache
from pupns.personal.master import key_fingerprint
from tests.clock import Clock

NIP = "198503152010011001"


def test_a_master_key_is_base64_of_32_bytes_named_by_its_fingerprint_or_an_explicit_id():
    raw = random_master_key()
    keys = MasterKeys.parse(raw)
    assert keys.active == key_fingerprint(base64.b64decode(raw)) and len(keys.ids) == 1
    urlsafe = base64.urlsafe_b64encode(b"\xfb" * 32).decode().rstrip("=")
    assert MasterKeys.parse(f"k2026:{urlsafe}").active == "k2026"
    for bad in ("", "not-a-key", base64.b64encode(b"short").decode(), "k:" + base64.b64encode(b"x" * 33).decode()):
        with pytest.raises(MasterKeyError, match="PUPNS_MASTER_KEY"):
            MasterKeys.parse(bad)


def test_rotation_wraps_with_the_first_key_and_still_unwraps_with_the_older_ones():
    old, new = random_master_key(), random_master_key()
    before = MasterKeys.parse(f"k1:{old}")
    kid, wrapped = before.wrap(NIP, "00aa", b"k" * 32)
    after = MasterKeys.parse(f"k2:{new},k1:{old}")
    assert after.active == "k2"
    assert after.unwrap(kid, NIP, "00aa", wrapped) == b"k" * 32
    assert after.wrap(NIP, "00bb", b"k" * 32)[0] == "k2"
    with pytest.raises(MasterKeyError, match="does not hold"):
        MasterKeys.parse(f"k2:{new}").unwrap(kid, NIP, "00aa", wrapped)
    with pytest.raises(MasterKeyError, match="does not open"):
        after.unwrap(kid, "199001012015032002", "00aa", wrapped)  # bound to its NIP


def test_development_has_a_master_key_and_a_key_store_on_the_main_server(monkeypatch):
    for name in ("PUPNS_MASTER_KEY", "PUPNS_KEYSTORE_MONGO_URI", "PUPNS_KEYSTORE_DB", "PUPNS_ENCRYPTION",
                 "PUPNS_DB_PREFIX"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PUPNS_ENV", "development")
    assert MasterKeys.from_env().active == "dev"
    assert config.keystore_mongo_uri() == config.mongo_uri()
    assert config.keystore_db() == "pupns_keys"
    assert config.encryption_enabled() is True
    monkeypatch.setenv("PUPNS_ENCRYPTION", "off")
    assert config.encryption_enabled() is False


def test_production_refuses_to_start_without_a_real_master_key_a_key_store_or_with_encryption_off(monkeypatch):
    monkeypatch.setenv("PUPNS_ENV", "production")
    monkeypatch.delenv("PUPNS_MASTER_KEY", raising=False)
    monkeypatch.delenv("PUPNS_KEYSTORE_MONGO_URI", raising=False)
    with pytest.raises(SystemExit, match="PUPNS_MASTER_KEY .* is missing"):
        MasterKeys.from_env()
    monkeypatch.setenv("PUPNS_MASTER_KEY", config.DEV_MASTER_KEY)
    with pytest.raises(SystemExit, match="development value"):
        MasterKeys.from_env()
    monkeypatch.setenv("PUPNS_MASTER_KEY", random_master_key())
    assert MasterKeys.from_env().active.startswith("m")
    with pytest.raises(SystemExit, match="PUPNS_KEYSTORE_MONGO_URI"):
        config.keystore_mongo_uri()
    monkeypatch.setenv("PUPNS_KEYSTORE_MONGO_URI", "mongodb://pupns-keys:pw@keys-host/?replicaSet=rs0")
    assert config.keystore_mongo_uri().startswith("mongodb://pupns-keys:")
    monkeypatch.setenv("PUPNS_ENCRYPTION", "off")
    with pytest.raises(SystemExit, match="PUPNS_ENCRYPTION=off"):
        FieldCodec(keys=None)
    monkeypatch.setenv("PUPNS_ENCRYPTION", "on")
    assert FieldCodec(keys=None).enabled is True


def test_the_key_cache_is_bounded_forgets_after_its_ttl_and_evicts_on_demand():
    clock = Clock()
    cache = TTLCache(size=3, ttl=30, clock=clock)
    for name in "abc":
        cache.put(name, name.upper())
    assert cache.get("a") == "A"  # a is now the most recently used
    cache.put("d", "D")
    assert cache.get("b") is None and len(cache) == 3
    clock.now += 29.9
    assert cache.get("c") == "C"
    clock.now += 0.2
    assert cache.get("c") is None and cache.get("a") is None
    cache.put("e", "E")
    assert cache.evict_where(lambda key, value: value == "E") == 1 and cache.get("e") is None
    TTLCache(size=0, ttl=30).put("x", 1)
    assert TTLCache(size=5, ttl=0).get("x") is None


def test_the_blind_index_matches_equal_niks_on_any_record_and_depends_on_its_key(monkeypatch):
    from pupns.personal import blind_index

    monkeypatch.setenv("PUPNS_BLIND_INDEX_KEY", "key-one")
    first = blind_index("nik", "3174015503850001")
    assert first == blind_index("nik", " 3174 0155 0385 0001 ") and "3174015503850001" not in first
    assert blind_index("npwp", "3174015503850001") != first
    monkeypatch.setenv("PUPNS_BLIND_INDEX_KEY", "key-two")
    assert blind_index("nik", "3174015503850001") != first
