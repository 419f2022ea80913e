"""Password hashes: argon2id at OWASP's parameters, older scrypt hashes still verified (and upgraded at the
next login), every hash computed off the event loop in a bounded pool of real threads."""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from prometheus_client import Counter

from pupns.argon2_blocks import MemoryBlocks
from pupns.cores import usable_cores

# OWASP's first argon2id option: m=46 MiB, t=1, p=1 (stronger in memory than the m=19 MiB, t=2 minimum and about
# 40 ms here, i.e. ~25 hashes/s per core; measured in bench/password_hash.py).
ARGON2_MEMORY_KIB, ARGON2_TIME, ARGON2_PARALLELISM = 47104, 1, 1
SCRYPT_MAXMEM = 256 * 1024 * 1024
T = TypeVar("T")
# What the hashes cost where they run: operators see how much of a process's CPU goes to hashing, and the write
# benchmark sets a registration's other costs beside its own hash measured in the same minutes (bench.write_load).
HASHES = Counter("pupns_password_hashes", "Password hashes computed or verified in the hash pool")
HASH_CPU = Counter("pupns_password_hash_cpu_seconds", "CPU time of the hash pool's hashes (the hashing thread's own)")


def hasher(memory_kib: int = ARGON2_MEMORY_KIB, time_cost: int = ARGON2_TIME) -> PasswordHasher:
    """An argon2id hasher (parameters other than the defaults are for benchmarks and tests)."""
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=ARGON2_PARALLELISM)


ARGON2 = hasher()
# Hashes at today's parameters are computed in memory blocks kept between hashes (pupns.argon2_blocks says why);
# any other argon2 hash (older parameters, another variant) is left to argon2-cffi.
CURRENT = f"$argon2id$v=19$m={ARGON2_MEMORY_KIB},t={ARGON2_TIME},p={ARGON2_PARALLELISM}$"
SALT_BYTES, HASH_BYTES = ARGON2.salt_len, ARGON2.hash_len


def hash_password(password: str, using: PasswordHasher = ARGON2) -> str:
    """An argon2id hash in the PHC string format (`$argon2id$v=19$m=...`)."""
    if using is not ARGON2:
        return using.hash(password)
    salt = os.urandom(SALT_BYTES)
    digest = _current_hash(password.encode(), salt, HASH_BYTES)
    return CURRENT + _b64(salt) + "$" + _b64(digest)


def verify_password(password: str, stored: str) -> bool:
    """Constant-time check of a password against an argon2id or a legacy `scrypt$N$r$p$salt$digest` hash."""
    if stored.startswith("scrypt$"):
        return _verify_scrypt(password, stored)
    if stored.startswith(CURRENT):
        return _verify_current(password, stored[len(CURRENT):])
    try:
        return ARGON2.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _verify_current(password: str, salt_and_digest: str) -> bool:
    try:
        salt, expected = (_unb64(part) for part in salt_and_digest.split("$"))
    except ValueError:  # not two parts, or not base64
        return False
    if not (8 <= len(salt) <= 64 and 4 <= len(expected) <= 64):  # libargon2's minimums; ours are 16 and 32
        return False
    return hmac.compare_digest(_current_hash(password.encode(), salt, len(expected)), expected)


def _current_hash(password: bytes, salt: bytes, length: int) -> bytes:
    return BLOCKS.raw_hash(password, salt, ARGON2_TIME, ARGON2_MEMORY_KIB, ARGON2_PARALLELISM, length)


def _b64(raw: bytes) -> str:
    """PHC's base64: the standard alphabet without padding."""
    return base64.b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except binascii.Error as error:
        raise ValueError(str(error)) from error


def needs_rehash(stored: str) -> bool:
    """True for a legacy scrypt hash or an argon2id hash weaker than today's parameters."""
    return stored.startswith("scrypt$") or ARGON2.check_needs_rehash(stored)


def _verify_scrypt(password: str, stored: str) -> bool:
    try:
        _, n, r, p, salt, digest = stored.split("$")
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                                maxmem=SCRYPT_MAXMEM, dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def legacy_scrypt_hash(password: str, n: int = 2 ** 14) -> str:
    """A hash as the platform made them before argon2id (tests of the upgrade path)."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=8, p=1, maxmem=SCRYPT_MAXMEM, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${n}$8$1${b64(salt).decode()}${b64(digest).decode()}"


class HashPool:
    """Runs hashes in real threads, at most one per usable core at once.

    Under nameko (eventlet) a hash computed inline would hold the event loop for its whole ~40 ms, so one
    registration would stall every other request of the process. argon2 and scrypt release the GIL, so the
    pool's threads use the cores while the green threads keep serving; the semaphore is green under eventlet,
    so a request waiting for a slot blocks only itself.
    """

    def __init__(self, size: int | None = None):
        self.size = size or usable_cores()
        self._slots = threading.BoundedSemaphore(self.size)

    def run(self, fn: Callable[..., T], *args: object) -> T:
        spent = [0.0]
        with self._slots:
            try:
                return _in_real_thread(_timed, spent, fn, *args)
            finally:
                # Counted here, in the caller's green thread: the counters' locks are green under eventlet, and a
                # real thread blocked on one (a /metrics scrape holding it) would never be woken.
                HASH_CPU.inc(spent[0])
                HASHES.inc()


def _timed(spent: list[float], fn: Callable[..., T], *args: object) -> T:
    """Run `fn`, leaving in `spent` the CPU time of the thread it ran in (a real thread: the hash's own cost)."""
    started = time.thread_time()
    try:
        return fn(*args)
    finally:
        spent[0] = time.thread_time() - started


def _in_real_thread(fn: Callable[..., T], *args: object) -> T:
    try:
        from eventlet import patcher, tpool
    except ImportError:  # pragma: no cover - eventlet is a platform dependency
        return fn(*args)
    if patcher.is_monkey_patched("thread"):
        return tpool.execute(fn, *args)
    return fn(*args)  # a plain threaded program (CLI, web app): the caller's thread is already real


POOL = HashPool()
# One block per thread the pool hashes in at once (a hash outside the pool beyond that borrows a block of its own).
BLOCKS = MemoryBlocks(keep=POOL.size)
# A hash of a random password, verified against when the username does not exist so that an unknown NIP costs
# the same time as a wrong password. Made by argon2-cffi, so that importing this keeps no block allocated.
DUMMY_HASH = ARGON2.hash(base64.b64encode(os.urandom(12)).decode())
