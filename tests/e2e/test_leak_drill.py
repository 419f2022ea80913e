"""The leak drill (SPEC §7, issue 13): after one PNS's whole journey, a dump of every database, every message
waiting in the broker and every log file of the platform holds none of that PNS's personal values in clear; the
same dump plus the master key opens them; after erasure, even the master key cannot, while the hash chains and
replay still hold and the API shows the fields as null with a marker."""
from __future__ import annotations

import base64
import re
import secrets
import subprocess
import sys
import urllib.parse
import uuid

import requests
from bson import json_util
from pymongo import MongoClient

from pupns.personal import ERASED, FieldCodec, KeyStore, MasterKeys
from pupns.personal.codec import is_sealed_blob
from pupns_dev.stack import RABBIT_API, RABBIT_AUTH, SERVICES, local_mongo_uri
from pupns_dev.waiting import wait_until
from tests.e2e.conftest import PASSWORD, bearer

SYSTEM_DATABASES = {"admin", "config", "local"}
# Stand-ins for systems outside the platform: the mail server receives the e-mail address by design, the e-Meterai
# provider the statement it stamps. Their logs are theirs, not the platform's.
OUTSIDE_SYSTEMS = {"smtp.log", "meterai.log"}
TOKEN = re.compile(r"enc:v1:[0-9a-f]{16}:[A-Za-z0-9_-]+")


def digits(count: int) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(count))


def encodings(value: str) -> set[str]:
    """The value and the usual ways a leak would spell it."""
    raw = value.encode()
    return {value, urllib.parse.quote(value, safe=""), base64.b64encode(raw).decode(),
            base64.urlsafe_b64encode(raw).decode().rstrip("="), raw.hex()}


def dump_databases(clients: list[MongoClient]) -> tuple[str, list[bytes]]:
    """Every document of every database of every store process as extended JSON text, and every binary value
    found."""
    texts, blobs = [], []

    def binaries(node):
        if isinstance(node, bytes):
            blobs.append(bytes(node))
        elif isinstance(node, dict):
            for value in node.values():
                binaries(value)
        elif isinstance(node, list):
            for value in node:
                binaries(value)
    for client in clients:
        for name in client.list_database_names():
            if name in SYSTEM_DATABASES:
                continue
            for collection in client[name].list_collection_names():
                for doc in client[name][collection].find():
                    texts.append(json_util.dumps(doc))
                    binaries(doc)
    return "\n".join(texts), blobs


def dump_queues(vhost: str) -> str:
    """Every message waiting in any queue of the platform's vhost (peeked and put back)."""
    quoted = urllib.parse.quote(vhost, safe="")
    found = []
    for queue in requests.get(f"{RABBIT_API}/queues/{quoted}", auth=RABBIT_AUTH, timeout=10).json():
        if not queue.get("messages"):
            continue
        got = requests.post(f"{RABBIT_API}/queues/{quoted}/{urllib.parse.quote(queue['name'], safe='')}/get",
                            auth=RABBIT_AUTH, timeout=30,
                            json={"count": 10000, "ackmode": "ack_requeue_true", "encoding": "auto"})
        found += [message["payload"] for message in got.json()]
    return "\n".join(found)


def dump_logs(cfg) -> str:
    return "\n".join(path.read_text(errors="replace") for path in sorted((cfg.var / "logs").glob("*.log"))
                     if path.name not in OUTSIDE_SYSTEMS)


def leaks(secrets_by_field: dict[str, str], text: str) -> list[str]:
    return [f"{field} ({spelling!r})" for field, value in secrets_by_field.items()
            for spelling in encodings(value) if spelling in text]


def journey(platform, api, row: dict, personal: dict, pdf: bytes) -> dict:
    """Register, confirm, fill the personal sections, upload a document, submit, approve: the PNS's header."""
    resp = api.post("/api/v1/registrations", json={"nip": row["nip"], "nik": row["nik"], "email": personal["email"],
                                                   "password": PASSWORD})
    assert resp.status_code == 201, resp.text
    platform.wait_pending(row)
    verifier = platform.verifier(row["instansi_kode"])
    assert api.post(f"/api/v1/verifier/registrations/{row['nip']}/confirm", headers=verifier).status_code == 200
    pns = bearer(platform.token(row["nip"], PASSWORD))
    form = wait_until(lambda: (r := api.get("/api/v1/me/form", headers=pns)).status_code == 200 and r,
                      message="form opened")
    utama = {**form.json()["sections"]["data_utama"], "npwp": personal["npwp"], "alamat": personal["alamat"],
             "no_hp": personal["no_hp"], "email": personal["email"], "status_perkawinan": "Kawin"}
    saved = api.put("/api/v1/me/form/sections/data_utama", json=utama,
                    headers={**pns, "If-Match": form.headers["ETag"].strip('"')})
    assert saved.status_code == 200, saved.text
    stakeholder = {"bapertarum_nomor": "", "bpjs_kesehatan_nomor": personal["bpjs_kesehatan_nomor"],
                   "kpe_nomor": "", "taspen_nomor": personal["taspen_nomor"]}
    saved = api.put("/api/v1/me/form/sections/data_stakeholder", json=stakeholder,
                    headers={**pns, "If-Match": str(saved.json()["version"])})
    assert saved.status_code == 200, saved.text
    uploaded = api.post("/api/v1/me/documents", headers=pns, data={"kind": "ijazah"},
                        files={"file": ("ijazah.pdf", pdf, "application/pdf")})
    assert uploaded.status_code == 201, uploaded.text
    assert api.post("/api/v1/me/form/submit", headers=pns).status_code == 200
    wait_until(lambda: api.post(f"/api/v1/verifier/submissions/{row['nip']}/approve", headers=verifier)
               .status_code == 200, message="submission approved")
    wait_until(lambda: api.get("/api/v1/me", headers=pns).json()["status"] == "verified", message="verified")
    return {"pns": pns, "verifier": verifier, "document_id": uploaded.json()["document_id"]}


def opened_with_master_key(cfg, client: MongoClient, nip: str, text: str, blobs: list[bytes]) -> tuple[set, list]:
    """Every value of this PNS the dump yields to someone holding the master key (and the key store's dump)."""
    keys = KeyStore(client[f"{cfg.db_prefix}keys"], MasterKeys.parse(cfg.master_key), cache_ttl=0)
    codec = FieldCodec(keys)
    values, documents = set(), []
    for token in set(TOKEN.findall(text)):
        try:
            value = codec.open_(nip, token)
        except Exception:  # another PNS's token: bound to its own NIP, it does not open as this one
            continue
        values.add(value)
    for blob in blobs:
        if is_sealed_blob(blob):
            try:
                documents.append(codec.open_bytes(nip, blob))
            except Exception:
                continue
    return values, documents


def test_a_dump_yields_no_personal_value_without_the_master_key_and_none_after_erasure(stack, platform, api):
    cfg, _ = stack
    row = platform.take_row(lambda r: "Guru" not in r["jabatan"] and "Dokter" not in r["jabatan"])
    nip, tag = row["nip"], uuid.uuid4().hex[:10]
    personal = {"nik": row["nik"], "npwp": digits(15), "alamat": f"Jl. Rahasia {tag} No. 7, Bandung",
                "no_hp": "08" + digits(10), "email": f"bocor.{tag}@contoh.go.id",
                "bpjs_kesehatan_nomor": digits(13), "taspen_nomor": digits(12)}
    marker = f"isi-ijazah-{tag}"
    pdf = f"%PDF-1.4\n% {marker}\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n".encode()
    seen = journey(platform, api, row, personal, pdf)
    platform.settled_event_count()

    clients = [MongoClient(local_mongo_uri(port), tz_aware=True) for port in cfg.stores().values()]
    client = clients[0]  # the main store: the key store's
    try:
        text, blobs = dump_databases(clients)
        logs = dump_logs(cfg)
        dumped = "\n".join([text, dump_queues(cfg.vhost), logs])
        assert nip in text, "the dump is real: the clear NIP is in it"
        assert row["nama"] in text, "names are not personal fields (SPEC §7): they stay searchable"
        assert len(logs) > 1000, "the platform's logs are read"
        assert any(is_sealed_blob(blob) for blob in blobs)
        assert leaks({**personal, "document": marker}, dumped) == []
        assert not [b for b in blobs if marker.encode() in b]

        values, documents = opened_with_master_key(cfg, client, nip, text, blobs)
        assert set(personal.values()) <= values, "the dump and the master key must open every personal value"
        assert any(marker.encode() in doc for doc in documents if isinstance(doc, bytes))

        erased = api.post(f"/api/v1/admin/records/{nip}/erase", headers=platform.admin(),
                          json={"reason": "uji kebocoran data"})
        assert erased.status_code == 200, erased.text

        def shown_erased() -> dict | None:
            resp = api.get(f"/api/v1/verifier/submissions/{nip}", headers=seen["verifier"])
            view = resp.json()
            marked = '"_erased": true' in resp.text.replace('"_erased":true', '"_erased": true')
            return view if marked and view["sections"]["data_utama"].get("npwp") is None else None
        view = wait_until(shown_erased, timeout=60, interval=0.5, message="the API shows the erased fields as null")
        assert view["sections"]["data_utama"]["nik"] is None and view["sections"]["data_utama"]["nama"] == row["nama"]
        wait_until(lambda: api.get(f"/api/v1/me/documents/{seen['document_id']}", headers=seen["pns"]).status_code
                   in (401, 404), timeout=30, interval=0.5, message="the erased document is no longer served")

        verify = api.get("/api/v1/admin/audit/verify", headers={**platform.admin(), "Prefer": "wait=60"}).json()
        assert verify["broken"] == [] and verify["events_checked"] > 0
        for service in SERVICES:
            checked = subprocess.run([sys.executable, "-m", "pupns_cli", "replay", service, "--check"],
                                     env=cfg.env(), capture_output=True, text=True, timeout=600)
            assert checked.returncode == 0, f"{service}:\n{checked.stdout}\n{checked.stderr}"

        text, blobs = dump_databases(clients)
        values, documents = opened_with_master_key(cfg, client, nip, text, blobs)
        assert values <= {ERASED}, "after erasure the master key opens nothing of this PNS"
        assert all(doc is ERASED for doc in documents)
    finally:
        for each in clients:
            each.close()
