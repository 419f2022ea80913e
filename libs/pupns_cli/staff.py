"""`pupns staff set-password USERNAME`: an administrator sets a staff account's password (audited).

The password is read from a prompt (typed twice, not echoed) or, when stdin is not a terminal, from its first
line; never from the command line, where `ps` and shell history would keep it.
"""
from __future__ import annotations

import argparse
import getpass
import sys
from typing import TextIO

from pupns_cli import rpc


class PasswordMismatch(Exception):
    """The two prompted passwords differ."""


def read_password(stdin: TextIO | None = None, prompt=getpass.getpass) -> str:
    """The new password: prompted twice on a terminal, else the first line of stdin (without its line break)."""
    stdin = stdin or sys.stdin
    if stdin.isatty():
        first = prompt("Kata sandi baru: ")
        if prompt("Ulangi kata sandi baru: ") != first:
            raise PasswordMismatch
        return first
    return stdin.readline().rstrip("\r\n")


def set_password(args: argparse.Namespace) -> int:
    """Set USERNAME's password; its older tokens and console sessions stop working within seconds."""
    try:
        password = read_password()
    except PasswordMismatch:
        print("kedua kata sandi tidak sama; tidak ada yang diubah", file=sys.stderr)
        return 2
    if not password:
        print("kata sandi kosong; tidak ada yang diubah", file=sys.stderr)
        return 2
    with rpc.cluster() as proxy:
        done = proxy.identity.set_staff_password(args.username, password, rpc.cli_actor())
    print(f"kata sandi {done['username']} diganti; token dan sesi lamanya berhenti dalam beberapa detik")
    return 0


def add_commands(groups) -> None:
    """The `staff` group of the `pupns` parser."""
    staff = groups.add_parser("staff", help="akun verifikator dan administrator").add_subparsers(
        dest="command", required=True)
    setter = staff.add_parser("set-password", help="ganti kata sandi akun staf (dibaca dari prompt atau stdin, "
                                                   "bukan dari argumen; diaudit)")
    setter.add_argument("username")
    setter.set_defaults(func=set_password)
