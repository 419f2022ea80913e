"""Passwords, access tokens with rotatable keys, and receipt URL signatures."""
from __future__ import annotations

import threading
import time

import jwt
import pytest

from pupns import auth, passwords
from pupns.errors import AppError


@pytest.fixture
def keys(monkeypatch):
    monkeypatch.setenv("PUPNS_JWT_KEYS",
                       "old:first-secret-key-of-at-least-32-bytes,new:second-secret-key-of-at-least-32-bytes")
    monkeypatch.setenv("PUPNS_JWT_ACTIVE_KID", "new")


def test_password_hash_is_argon2id_at_owasp_parameters_and_verifies_only_the_right_password():
    stored = passwords.hash_password("rahasia-sekali-123")
    params = dict(item.split("=") for item in stored.split("$")[3].split(","))
    assert stored.startswith("$argon2id$")
    assert int(params["m"]) >= 19456 and int(params["t"]) >= 1 and int(params["m"]) * int(params["t"]) >= 38912
    assert passwords.verify_password("rahasia-sekali-123", stored)
    assert not passwords.verify_password("rahasia-sekali-124", stored)
    assert not passwords.verify_password("anything", "not-a-hash")
    assert not passwords.needs_rehash(stored)


def test_legacy_scrypt_hashes_still_verify_and_ask_for_an_upgrade():
    stored = passwords.legacy_scrypt_hash("rahasia-sekali-123", n=2 ** 10)
    assert passwords.verify_password("rahasia-sekali-123", stored)
    assert not passwords.verify_password("rahasia-sekali-124", stored)
    assert passwords.needs_rehash(stored)
    assert passwords.needs_rehash(passwords.hash_password("x", passwords.hasher(memory_kib=8192)))


def test_same_password_hashes_differently_each_time():
    assert passwords.hash_password("rahasia-sekali-123") != passwords.hash_password("rahasia-sekali-123")


def test_hash_pool_runs_at_most_one_hash_per_slot_at_once():
    pool, active, peak, lock = passwords.HashPool(size=2), [0], [0], threading.Lock()

    def work() -> str:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        result = passwords.hash_password("rahasia-sekali-123")
        with lock:
            active[0] -= 1
        return result

    threads = [threading.Thread(target=pool.run, args=(work,)) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert peak[0] <= 2


def test_hash_pool_counts_each_hash_with_its_own_cpu_time():
    """The counters operators and the write benchmark read: one per hash, with the hashing thread's CPU time (a
    wait in the pool, or sleeping in the function, is not the hash's cost)."""
    pool = passwords.HashPool(size=1)
    hashes, cpu = passwords.HASHES._value.get(), passwords.HASH_CPU._value.get()
    pool.run(passwords.hash_password, "rahasia-sekali-123")
    one = passwords.HASH_CPU._value.get() - cpu
    assert passwords.HASHES._value.get() == hashes + 1 and one > 0.002  # argon2id at m=46 MiB: tens of ms
    pool.run(time.sleep, 0.3)  # not CPU
    assert passwords.HASHES._value.get() == hashes + 2
    assert passwords.HASH_CPU._value.get() - cpu - one < 0.1


def test_token_round_trip_carries_role_and_instansi(keys):
    issued = auth.issue_token("verifikator.3273", "verifier", "3273", ttl=60)
    assert issued["token_type"] == "Bearer" and issued["expires_in"] == 60
    assert jwt.get_unverified_header(issued["access_token"])["kid"] == "new"
    claims = auth.decode_token(issued["access_token"])
    assert (claims["sub"], claims["role"], claims["instansi_kode"]) == ("verifikator.3273", "verifier", "3273")


def test_rotation_keeps_tokens_signed_with_an_older_listed_key_valid(keys, monkeypatch):
    monkeypatch.setenv("PUPNS_JWT_ACTIVE_KID", "old")
    old_token = auth.issue_token("admin", "admin")["access_token"]
    monkeypatch.setenv("PUPNS_JWT_ACTIVE_KID", "new")
    assert auth.decode_token(old_token)["sub"] == "admin"
    monkeypatch.setenv("PUPNS_JWT_KEYS", "new:second-secret-key-of-at-least-32-bytes")  # the old key is retired
    with pytest.raises(AppError) as err:
        auth.decode_token(old_token)
    assert err.value.code == "unauthorized"


@pytest.mark.parametrize("tamper", ["expired", "audience", "forged", "no_kid", "bad_role", "garbage"])
def test_bad_tokens_are_unauthorized(keys, tamper):
    now = int(time.time())
    claims = {"sub": "199001012015011001", "role": "pns", "aud": auth.AUDIENCE, "iss": auth.ISSUER,
              "iat": now, "exp": now + 60}
    key, headers = "second-secret-key-of-at-least-32-bytes", {"kid": "new"}
    if tamper == "expired":
        claims.update(iat=now - 120, exp=now - 60)
    elif tamper == "audience":
        claims["aud"] = "someone-else"
    elif tamper == "forged":
        key = "guessed-key-of-an-attacker-32-bytes-long"
    elif tamper == "no_kid":
        headers = {}
    elif tamper == "bad_role":
        claims["role"] = "superuser"
    token = "not.a.token" if tamper == "garbage" else jwt.encode(claims, key, algorithm="HS256", headers=headers)
    with pytest.raises(AppError) as err:
        auth.decode_token(token)
    assert err.value.code == "unauthorized" and err.value.status == 401


def test_receipt_signature_cannot_be_moved_to_another_number_or_altered(keys):
    signature = auth.sign_receipt("PUPNS-2026-ABCDEFGH")
    assert auth.verify_receipt("PUPNS-2026-ABCDEFGH", signature)
    assert not auth.verify_receipt("PUPNS-2026-ABCDEFGJ", signature)
    assert not auth.verify_receipt("PUPNS-2026-ABCDEFGH", signature[:-1] + ("0" if signature[-1] != "0" else "1"))
    assert not auth.verify_receipt("PUPNS-2026-ABCDEFGH", "")


def test_production_refuses_the_development_key(monkeypatch):
    monkeypatch.delenv("PUPNS_JWT_KEYS", raising=False)
    monkeypatch.setenv("PUPNS_ENV", "production")
    with pytest.raises(RuntimeError):
        auth.issue_token("admin", "admin")


def test_a_hash_finishing_while_a_scrape_holds_the_counters_is_not_stuck():
    """Under eventlet the counters' locks are green: the hashing OS thread must never wait on one."""
    import eventlet
    from eventlet import patcher

    from pupns_dev.waiting import wait_until

    pool, hashed = passwords.HashPool(size=1), patcher.original("threading").Event()

    def hash_and_say() -> str:
        stored = passwords.hash_password("rahasia-sekali-123")
        hashed.set()
        return stored

    with passwords.HASH_CPU._value._lock:  # what a /metrics scrape holds while it reads the value
        green = eventlet.spawn(pool.run, hash_and_say)
        wait_until(hashed.is_set, timeout=30, interval=0.01, message="the hash to finish")
    with eventlet.Timeout(10):
        assert green.wait().startswith("$argon2id$")
