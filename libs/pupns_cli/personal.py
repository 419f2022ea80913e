"""`pupns record erase NIP --reason ...` and `pupns keys rewrap`: personal data (SPEC §7) from the command line."""
from __future__ import annotations

import argparse

from pupns_cli import rpc


def record_erase(args: argparse.Namespace) -> int:
    """Destroy one PNS's data key (crypto-shredding), audited as this administrator."""
    with rpc.cluster() as proxy:
        done = proxy.identity.erase_record(args.nip, args.reason, rpc.cli_actor())
    print(f"data pribadi {done['nip']} dihapus (kunci data dimusnahkan) pada {done.get('erased_at') or '-'}; "
          "log peristiwa tetap utuh dan rantai hash tetap terverifikasi")
    return 0


def keys_rewrap(args: argparse.Namespace) -> int:
    """Re-wrap every live data key under the first master key of PUPNS_MASTER_KEY (after a rotation)."""
    from pupns.personal import KeyStore

    keys = KeyStore.from_env()
    try:
        count = keys.rewrap()
    finally:
        keys.close()
    print(f"{count} kunci data dibungkus ulang dengan kunci induk terbaru; kunci induk lama boleh dilepas")
    return 0


def add_commands(groups) -> None:
    """The `record` and `keys` groups of the `pupns` parser."""
    record = groups.add_parser("record", help="rekam data seorang PNS").add_subparsers(dest="command", required=True)
    erase = record.add_parser("erase", help="hapus data pribadi seorang PNS (kunci datanya dimusnahkan; diaudit)")
    erase.add_argument("nip")
    erase.add_argument("--reason", required=True, help="alasan (kode atau kalimat petugas, bukan data pribadi)")
    erase.set_defaults(func=record_erase)
    keys = groups.add_parser("keys", help="kunci data pribadi").add_subparsers(dest="command", required=True)
    keys.add_parser("rewrap", help="bungkus ulang semua kunci data dengan kunci induk terbaru"
                    ).set_defaults(func=keys_rewrap)
