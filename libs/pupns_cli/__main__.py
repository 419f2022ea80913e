"""`pupns` command line: `python -m pupns_cli <group> <command> ...` (see `--help`)."""
from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pupns import config
from pupns.audit import SERVICES, verify_service
from pupns.errors import AppError
from pupns.roster_upload import JOB_CHUNK_ROWS, upload_roster
from pupns_cli import checkpoints, personal, rpc, staff, subscribers
from pupns_cli.generate import generate_rows, write_csv


def roster_generate(args: argparse.Namespace) -> int:
    with open(args.out, "w", encoding="utf-8", newline="") as out:
        count = write_csv(generate_rows(args.count, args.seed, args.instansi), out)
    print(f"{count} baris ditulis ke {args.out}")
    return 0


def roster_import(args: argparse.Namespace) -> int:
    text = Path(args.file).read_text(encoding="utf-8-sig")
    with rpc.cluster() as proxy:
        actor = rpc.cli_actor()
        job = upload_roster(text, lambda method, *a, **kw: getattr(proxy.identity, method)(*a, actor, **kw),
                            args.idempotency_key, rows_per_chunk=args.chunk)
        print(f"pekerjaan {job['id']} dimulai", file=sys.stderr)
        job = rpc.follow(proxy, job, "impor")
    if job["status"] == "failed":
        print(f"impor gagal: {job['error']['message']}", file=sys.stderr)
        return 1
    summary = job["result"]
    print(f"diimpor: {summary['imported']}, tidak berubah: {summary['unchanged']}, "
          f"ditolak: {summary.get('rejected_total', len(summary['rejected']))}")
    for item in summary["rejected"][:args.show]:
        print(f"  baris {item['line']}, kolom {item['column'] or '-'}: {item['reason']}")
    if summary.get("rejected_total", len(summary["rejected"])) > args.show:
        print(f"  ... dan {summary.get('rejected_total', len(summary['rejected'])) - args.show} baris lainnya")
    return 0


def campaign_close(args: argparse.Namespace) -> int:
    with rpc.cluster() as proxy:
        job = proxy.identity.close_campaign(rpc.cli_actor(), idempotency_key=args.idempotency_key)
        print(f"masa pendataan ditutup; pekerjaan {job['id']} menandai PNS yang tidak mendaftar ulang",
              file=sys.stderr)
        job = rpc.follow(proxy, job, "penandaan")
    if job["status"] == "failed":
        print(f"penutupan gagal: {job['error']['message']}", file=sys.stderr)
        return 1
    print(f"tidak mendaftar ulang: {job['result']['not_reregistered']}")
    return 0


def verifier_create(args: argparse.Namespace) -> int:
    payload = {"username": args.username, "password": args.password, "instansi_kode": args.instansi}
    with rpc.cluster() as proxy:
        created = proxy.identity.create_verifier(payload, rpc.cli_actor())
    print(f"verifikator {created['username']} dibuat untuk instansi {created['instansi_kode']}")
    return 0


def admin_bootstrap(args: argparse.Namespace) -> int:
    password = os.environ.get("PUPNS_ADMIN_PASSWORD")
    if not password:
        print("PUPNS_ADMIN_PASSWORD belum diisi", file=sys.stderr)
        return 2
    with rpc.cluster() as proxy:
        result = proxy.identity.bootstrap_admin(password)
    print("admin dibuat" if result["created"] else "admin sudah ada; tidak ada perubahan")
    return 0


def campaign_open(args: argparse.Namespace) -> int:
    opens = datetime.now(UTC).replace(microsecond=0)
    payload = {"opens_at": opens.isoformat(), "closes_at": (opens + timedelta(days=args.days)).isoformat()}
    with rpc.cluster() as proxy:
        result = proxy.identity.set_campaign(payload, rpc.cli_actor())
    print(f"masa pendataan: {result['opens_at']} s.d. {result['closes_at']} (buka: {result['is_open']})")
    return 0


def projector_class(service: str) -> type:
    """`<service>.adapters.projections.Projector` (the service template's one read-model class)."""
    return importlib.import_module(f"{service}.adapters.projections").Projector


def make_projector(service: str, store):
    """The service's Projector over the store's database."""
    return projector_class(service)(store.db)


def restore_indexes(service: str, store) -> None:
    """Recreate the read-model indexes the service makes at start (dropping a collection drops them too)."""
    projector_class(service).ensure_indexes(store.db)


def replay_check(store, service: str) -> int:
    """`pupns replay SERVICE --check`: a fresh replay into a scratch database, compared by checksum per collection;
    the live read models are not touched; also checks each consumer applied every stream's events in order.
    Exit 0 when both hold, 1 otherwise."""
    from pupns.eventstore import EventStore
    from pupns.replay import check, consumed_out_of_order

    total = store.count()
    progress = rpc.Progress(f"replay --check {service}", total)
    report = check(store, lambda db: make_projector(service, EventStore(db, service)), progress, total)
    progress.finish()
    for name, sums in report["collections"].items():
        same = "sama" if sums["live"] == sums["replayed"] else "BERBEDA"
        print(f"{name}: {same} (berjalan {sums['live']['count']} dokumen, replay {sums['replayed']['count']})")
    print("read model sama dengan replay" if report["equal"] else f"berbeda: {', '.join(report['differ'])}")
    late = consumed_out_of_order(store)
    for item in late[:20]:
        print(f"urutan: {item['handler']} menerapkan {item['stream']} versi {item['version']} "
              f"setelah versi {item['after']}")
    print("urutan konsumsi per stream terjaga" if not late else f"{len(late)} peristiwa diterapkan tidak berurutan")
    if late:
        return 1
    return 0 if report["equal"] else 1


REPLAY_HELP = ("bangun ulang read model sebuah layanan dari log peristiwa. Koleksi read model dihapus lalu "
               "diisi ulang: jalankan saat layanan itu dihentikan atau sudah dikuras (tidak ada permintaan dan "
               "pesan yang sedang diproses); selama pembangunan ulang layanan yang berjalan akan melihat data kosong.")


def replay(args: argparse.Namespace) -> int:
    from pymongo import MongoClient

    from pupns.eventstore import EventStore
    from pupns.replay import rebuild

    client = MongoClient(config.mongo_uri(args.service), tz_aware=True)
    if args.check:
        try:
            return replay_check(EventStore(client[config.mongo_db(args.service)], args.service), args.service)
        finally:
            client.close()
    try:
        store = EventStore(client[config.mongo_db(args.service)], args.service)
        total = store.count()
        progress = rpc.Progress(f"replay {args.service}", total)
        done = rebuild(store, make_projector(args.service, store), progress, total=total)
        restore_indexes(args.service, store)
        progress.finish()
    finally:
        client.close()
    print(f"{done} peristiwa diterapkan ulang; read model {args.service} dibangun kembali")
    return 0


def audit_verify(args: argparse.Namespace) -> int:
    broken = checkpoints.verify_checkpoint(args.checkpoint) if args.checkpoint else False
    with rpc.cluster() as proxy:
        def call(service: str, method: str, *call_args: object) -> dict:
            return getattr(getattr(proxy, service), method)(*call_args)

        for service in args.services or SERVICES:
            result = verify_service(call, service)  # page by page: no single call outlasts its deadline
            broken = broken or bool(result["broken"])
            status = "UTUH" if not result["broken"] else "RUSAK"
            print(f"{service}: {status} ({result['streams_checked']} stream, {result['events_checked']} peristiwa)")
            for item in result["broken"]:
                where = f"{item['stream']} v{item['version']}" if item.get("stream") else "urutan peristiwa"
                print(f"  {where}: {item['reason']}" + (f" (nomor urut {item['seq']})" if item.get("seq") else ""))
    return 1 if broken else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pupns", description="Alat administrasi PUPNS")
    groups = parser.add_subparsers(dest="group", required=True)
    roster = groups.add_parser("roster").add_subparsers(dest="command", required=True)
    gen = roster.add_parser("generate", help="buat data induk sintetis (CSV)")
    gen.add_argument("--count", type=int, required=True)
    gen.add_argument("--seed", type=int, default=1)
    gen.add_argument("--instansi")
    gen.add_argument("--out", required=True)
    gen.set_defaults(func=roster_generate)
    imp = roster.add_parser("import", help="impor CSV data induk ke layanan identity")
    imp.add_argument("file")
    imp.add_argument("--chunk", type=int, default=JOB_CHUNK_ROWS, help="baris per potongan yang diunggah")
    imp.add_argument("--idempotency-key", help="mengulang dengan kunci yang sama memberi pekerjaan yang sama")
    imp.add_argument("--show", type=int, default=50, help="berapa baris yang ditolak ditampilkan")
    imp.set_defaults(func=roster_import)
    verifier = groups.add_parser("verifier").add_subparsers(dest="command", required=True)
    create = verifier.add_parser("create")
    create.add_argument("--username", required=True)
    create.add_argument("--password", required=True)
    create.add_argument("--instansi", required=True)
    create.set_defaults(func=verifier_create)
    admin = groups.add_parser("admin").add_subparsers(dest="command", required=True)
    admin.add_parser("bootstrap", help="buat akun admin dari PUPNS_ADMIN_PASSWORD").set_defaults(func=admin_bootstrap)
    campaign = groups.add_parser("campaign").add_subparsers(dest="command", required=True)
    opener = campaign.add_parser("open")
    opener.add_argument("--days", type=int, required=True)
    opener.set_defaults(func=campaign_open)
    closer = campaign.add_parser("close", help="tutup masa pendataan sekarang dan tandai yang tidak mendaftar ulang")
    closer.add_argument("--idempotency-key")
    closer.set_defaults(func=campaign_close)
    rep = groups.add_parser("replay", help="bangun ulang read model sebuah layanan dari log peristiwa",
                            description=REPLAY_HELP)
    rep.add_argument("service", choices=SERVICES)
    rep.add_argument("--check", action="store_true",
                     help="bandingkan read model yang berjalan dengan replay baru (checksum per koleksi) tanpa "
                          "mengganti apa pun; aman saat layanan berjalan")
    rep.set_defaults(func=replay)
    audit = groups.add_parser("audit").add_subparsers(dest="command", required=True)
    ver = audit.add_parser("verify", help="periksa rantai hash setiap layanan")
    ver.add_argument("--services", nargs="*")
    ver.add_argument("--checkpoint", help="berkas titik periksa (pupns audit checkpoint): stream yang dihapus "
                                          "terdeteksi")
    ver.set_defaults(func=audit_verify)
    cp = audit.add_parser("checkpoint", help="tulis titik periksa bertanda tangan dari semua stream, untuk disimpan "
                                             "di luar basis data")
    cp.add_argument("--out", required=True)
    cp.add_argument("--services", nargs="*")
    cp.set_defaults(func=lambda args: checkpoints.audit_checkpoint(args, args.services or list(SERVICES)))
    subscribers.add_commands(groups)
    personal.add_commands(groups)
    staff.add_commands(groups)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except AppError as exc:
        print(json.dumps(exc.envelope(), ensure_ascii=False), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
