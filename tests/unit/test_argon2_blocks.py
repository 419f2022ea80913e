"""Argon2id in kept memory blocks: the same hashes as argon2-cffi's, both ways, and blocks that do not pile up."""
from __future__ import annotations

import threading

import pytest
from argon2 import PasswordHasher
from argon2.low_level import Type, hash_secret_raw

from pupns import passwords
from pupns.argon2_blocks import MemoryBlocks


def test_a_hash_made_here_verifies_with_argon2_cffi_and_one_made_there_verifies_here():
    ours = passwords.hash_password("rahasia-sekali-123")
    theirs = passwords.hasher().hash("rahasia-sekali-123")
    assert ours.startswith(passwords.CURRENT) and theirs.startswith(passwords.CURRENT)
    assert PasswordHasher().verify(ours, "rahasia-sekali-123")
    assert passwords.verify_password("rahasia-sekali-123", theirs)
    assert not passwords.verify_password("rahasia-sekali-124", theirs)
    assert not passwords.needs_rehash(ours)


def test_raw_hash_is_the_reference_hash_for_the_same_salt():
    blocks = MemoryBlocks(keep=1)
    salt = b"garam-enam-belas"
    for password in (b"", b"rahasia", "kata sandi \u00e9".encode()):
        assert blocks.raw_hash(password, salt, 2, 2048, 1, 32) == hash_secret_raw(password, salt, 2, 2048, 1, 32,
                                                                                   Type.ID)


@pytest.mark.parametrize("tail", ["", "$", "abc", "!!!!!!!!!!!$AAAA", "AAAAAAAAAAAA$AAAA$AAAA", "AAAA$" + "A" * 43,
                                  "AAAAAAAAAAAA$", "AAAAAAAAAAAA$A"])
def test_a_damaged_hash_at_todays_parameters_verifies_nothing(tail):
    assert not passwords.verify_password("rahasia", passwords.CURRENT + tail)


def test_blocks_are_reused_and_at_most_keep_stay_allocated():
    blocks, errors = MemoryBlocks(keep=2), []
    expected = hash_secret_raw(b"pw", b"garam-enam-belas", 1, 1024, 1, 16, Type.ID)

    def work() -> None:
        for _ in range(5):
            if blocks.raw_hash(b"pw", b"garam-enam-belas", 1, 1024, 1, 16) != expected:
                errors.append("different hash")

    threads = [threading.Thread(target=work) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and 1 <= blocks.kept() <= 2
    blocks.raw_hash(b"pw", b"garam-enam-belas", 1, 2048, 1, 16)  # more memory than the kept blocks have
    assert blocks.kept() == 1


def test_a_block_too_small_fails_the_hash_instead_of_overrunning_it(monkeypatch):
    from argon2.low_level import ffi

    blocks = MemoryBlocks(keep=1)
    monkeypatch.setattr(blocks, "_borrow", lambda size: ffi.new("uint8_t[]", 1024))
    with pytest.raises(ValueError, match="argon2id failed"):
        blocks.raw_hash(b"pw", b"garam-enam-belas", 1, 2048, 1, 16)


def test_hashes_in_eventlets_real_threads_share_the_blocks_without_a_lock():
    """As under nameko: green threads hand hashes to tpool's OS threads, several at once."""
    import eventlet
    from eventlet import tpool

    blocks = MemoryBlocks(keep=2)
    expected = hash_secret_raw(b"pw", b"garam-enam-belas", 1, 4096, 1, 16, Type.ID)
    hashes = [eventlet.spawn(tpool.execute, blocks.raw_hash, b"pw", b"garam-enam-belas", 1, 4096, 1, 16)
              for _ in range(12)]
    assert [green.wait() for green in hashes] == [expected] * 12
    assert 1 <= blocks.kept() <= 2
