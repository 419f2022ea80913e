"""Password hashing cost: scrypt at the chosen parameters and alternatives; logins/s per core."""
from __future__ import annotations

import argparse
import hashlib
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from pupns import auth

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


def time_scrypt(n: int, rounds: int) -> float:
    """Mean seconds per scrypt derivation with N=n (r=8, p=1)."""
    salt = os.urandom(16)
    started = time.perf_counter()
    for i in range(rounds):
        hashlib.scrypt(f"password-{i}".encode(), salt=salt, n=n, r=8, p=1, maxmem=256 * 1024 * 1024, dklen=32)
        print(f"\rN=2^{n.bit_length() - 1}: {i + 1}/{rounds}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return (time.perf_counter() - started) / rounds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args(argv)
    stored = auth.hash_password("kata-sandi-bench")
    started = time.perf_counter()
    for i in range(args.rounds):
        auth.verify_password("kata-sandi-bench", stored)
        print(f"\rverify_password: {i + 1}/{args.rounds}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    verify = (time.perf_counter() - started) / args.rounds
    rows = ["| scrypt N | r | p | memory | ms/hash | logins/s/core |", "|---|---|---|---|---|---|"]
    for n in (2 ** 13, auth.SCRYPT_N, 2 ** 15):
        seconds = time_scrypt(n, args.rounds)
        marker = " (chosen)" if n == auth.SCRYPT_N else ""
        rows.append(f"| 2^{n.bit_length() - 1}{marker} | 8 | 1 | {128 * 8 * n // 2 ** 20} MiB | "
                    f"{seconds * 1000:.1f} | {1 / seconds:.1f} |")
    body = (f"pupns.auth.verify_password at the chosen parameters: {verify * 1000:.1f} ms "
            f"→ {1 / verify:.1f} logins/s per core ({args.rounds} rounds)\n\n" + "\n".join(rows) + "\n")
    print(body)
    print(f"appended to {append_result('password_hash', body)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
