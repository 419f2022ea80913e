"""Password hashing cost: argon2id at the chosen parameters and alternatives, legacy scrypt; logins/s per core."""
from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from pupns import passwords

RESULTS = Path(__file__).parent / "results"


def machine_facts() -> str:
    """nproc, CPU model, Python version and date, for the results file."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip() or str(os.cpu_count())
    return (f"- date: {datetime.now(UTC).isoformat(timespec='seconds')}\n- nproc: {nproc}\n- cpu: {cpu}\n"
            f"- python: {platform.python_version()} ({sys.platform})\n")


def append_result(name: str, body: str) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.md"
    with path.open("a", encoding="utf-8") as out:
        out.write(f"\n## {name} — {datetime.now(UTC):%Y-%m-%d %H:%M}Z\n\n{machine_facts()}\n{body}\n")
    return path


def time_hash(label: str, fn, rounds: int) -> float:
    """Mean seconds per call of `fn(password)`."""
    started = time.perf_counter()
    for i in range(rounds):
        fn(f"password-{i}")
        print(f"\r{label}: {i + 1}/{rounds}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return (time.perf_counter() - started) / rounds


def all_cores_hash_ms(cores: int, rounds: int, hash_fn=None) -> float:
    """Milliseconds per hash on each core while every one of `cores` hashes at once (argon2 releases the GIL):
    the cores' hashing limit is cores x 1000 / this. argon2id is memory-hard, so cores that share memory
    bandwidth and caches each hash more slowly together than one does alone (60 vs 66 ms on 2 vCPUs here).
    `hash_fn`: another hash than the platform's (argon2-cffi's own `passwords.ARGON2.hash`, say)."""
    from concurrent.futures import ThreadPoolExecutor

    hash_fn = hash_fn or passwords.hash_password
    started = time.perf_counter()
    with ThreadPoolExecutor(cores) as pool:
        list(pool.map(lambda core: [hash_fn(f"password-{core}-{i}") for i in range(rounds)], range(cores)))
    return (time.perf_counter() - started) / rounds * 1000


def hashing_limit_per_s(hash_ms: float, cores: int) -> float:
    """Hashes per second the cores can do together, each taking `hash_ms` (from `all_cores_hash_ms`)."""
    return round(1000 / hash_ms * cores, 1)


def per_hash_ms(rounds: int) -> float:
    """Milliseconds per hash at the platform's parameters, one hash at a time (write_load and before_after take
    `all_cores_hash_ms` as the cores' limit)."""
    return time_hash("argon2id", passwords.hash_password, rounds) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args(argv)
    stored = passwords.hash_password("kata-sandi-bench")
    verify = time_hash("verify_password", lambda _: passwords.verify_password("kata-sandi-bench", stored),
                       args.rounds)
    rows = ["| hash | parameters | ms/hash | hashes/s/core |", "|---|---|---|---|"]
    chosen = f"m={passwords.ARGON2_MEMORY_KIB // 1024} MiB, t={passwords.ARGON2_TIME}, p=1"
    options = [("argon2id (chosen; memory kept between hashes, pupns.argon2_blocks)", chosen, passwords.hash_password),
               ("argon2id (chosen; argon2-cffi's own call, fresh memory each hash)", chosen, passwords.ARGON2.hash),
               ("argon2id (OWASP minimum)", "m=19 MiB, t=2, p=1",
                lambda pw, h=passwords.hasher(19456, 2): passwords.hash_password(pw, h)),
               ("scrypt (before)", "N=2^14, r=8, p=1 (16 MiB)", passwords.legacy_scrypt_hash)]
    for label, params, fn in options:
        seconds = time_hash(label, fn, args.rounds)
        rows.append(f"| {label} | {params} | {seconds * 1000:.1f} | {1 / seconds:.1f} |")
    body = (f"pupns.passwords.verify_password at the chosen parameters: {verify * 1000:.1f} ms "
            f"→ {1 / verify:.1f} logins/s per core ({args.rounds} rounds)\n\n" + "\n".join(rows) + "\n")
    print(body)
    print(f"appended to {append_result('password_hash', body)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
