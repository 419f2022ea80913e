"""Argon2id computed in memory blocks kept between hashes, with the same bytes out as argon2-cffi's own calls.

argon2-cffi (like libargon2's argon2_hash/argon2_verify) allocates a hash's whole memory (46 MiB at our
parameters) and frees it again for every hash. Allocations that large are fresh mmaps, so every hash first
page-faults all ~11,800 pages in (the kernel zeroes each one and charges it to the memory cgroup) and then
unmaps them: `perf` of identity under a login flood put about a third of its CPU in the kernel doing that
(docs/capacity.md §1a). libargon2 lets its caller supply the memory (`allocate_cbk`/`free_cbk` of
argon2_context), so here each hash borrows a block that stays mapped: ~36 -> ~24 CPU-ms per hash on the Intel
bench machine, identical hashes. libargon2 still wipes the block before handing it back (its
clear_internal_memory runs before free_cbk), so no password-derived memory outlives a hash.

At most `keep` blocks stay allocated (one per hashing thread the process runs at once); a hash beyond that gets a
block of its own, released after.
"""
from __future__ import annotations

from argon2.low_level import ARGON2_VERSION, Type, core, ffi, lib

ALLOCATION_FAILED = lib.ARGON2_MEMORY_ALLOCATION_ERROR


class MemoryBlocks:
    """Argon2id raw hashes, each computed in one of at most `keep` reusable memory blocks.

    No lock: hashes run in real threads (eventlet's tpool under nameko), where a monkey-patched lock would be a
    green one that cannot wake a waiter in another OS thread. list.pop and list.append are atomic in CPython.
    """

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self._free: list = []  # cdata uint8_t[] blocks not lent out
        self._release = ffi.callback("void(uint8_t *, size_t)", lambda memory, size: None)

    def raw_hash(self, password: bytes, salt: bytes, time_cost: int, memory_kib: int, parallelism: int,
                 hash_len: int) -> bytes:
        """The argon2id hash of `password` (what argon2.low_level.hash_secret_raw returns for these)."""
        block = self._borrow(memory_kib * 1024)

        # libargon2 calls this in the hashing thread, within argon2_ctx. Should it ever raise, libargon2 is told
        # the allocation failed (cffi's default answer, 0, would read as allocated with no memory behind it).
        @ffi.callback("int(uint8_t **, size_t)", error=ALLOCATION_FAILED)
        def lend(memory, size: int) -> int:
            if size > len(block):
                return ALLOCATION_FAILED
            memory[0] = block
            return lib.ARGON2_OK

        out = ffi.new("uint8_t[]", hash_len)
        pwd, salt_c = ffi.new("uint8_t[]", password), ffi.new("uint8_t[]", salt)
        context = ffi.new("argon2_context *", {
            "version": ARGON2_VERSION, "out": out, "outlen": hash_len, "pwd": pwd, "pwdlen": len(password),
            "salt": salt_c, "saltlen": len(salt), "secret": ffi.NULL, "secretlen": 0, "ad": ffi.NULL,
            "adlen": 0, "t_cost": time_cost, "m_cost": memory_kib, "lanes": parallelism, "threads": parallelism,
            "allocate_cbk": lend, "free_cbk": self._release, "flags": lib.ARGON2_DEFAULT_FLAGS})
        try:
            result = core(context, Type.ID.value)
        finally:
            self._give_back(block)
        if result != lib.ARGON2_OK:
            raise ValueError(f"argon2id failed: {result}")
        return bytes(ffi.buffer(out, hash_len))

    def kept(self) -> int:
        """Blocks allocated and not lent out (for tests)."""
        return len(self._free)

    def _borrow(self, size: int):
        while True:
            try:
                block = self._free.pop()
            except IndexError:
                return ffi.new("uint8_t[]", size)
            if len(block) >= size:
                return block  # a smaller one (parameters raised since) is dropped

    def _give_back(self, block) -> None:
        self._free.append(block)
        while len(self._free) > self.keep:  # two threads giving back at once may both have appended
            try:
                self._free.pop()
            except IndexError:
                break
