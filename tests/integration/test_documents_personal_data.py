"""Documents and personal data (SPEC §7, issue 13) on real RabbitMQ and SecantusDB: contents, file names and
rendered PDFs are sealed per PNS; allowed readers still get them; after erasure they read as gone (404) and the
read models still replay equal."""
from __future__ import annotations

import base64
import hashlib
import json
import urllib.request
import uuid
from datetime import UTC, datetime

import bson
import pytest
from nameko.standalone.events import event_dispatcher

from documents.adapters.projections import Projector
from documents.service import DocumentsService
from pupns.contracts.forms import FormSubmitted
from pupns.errors import AppError
from pupns.personal import KeyStore, is_sealed_blob
from pupns.replay import check
from pupns_dev import meterai_sim
from pupns_dev.processes import free_port, stop
from pupns_dev.waiting import wait_until
from tests.factories import fresh_nip
from tests.rpc import signed_proxy

INSTANSI = "4011"
ADMIN = {"id": "admin", "role": "admin", "instansi_kode": None}


def pns(nip: str) -> dict:
    return {"id": nip, "role": "pns", "instansi_kode": INSTANSI}


class Person:
    """One PNS's personal values, unique per test run so a dump search cannot match anything else."""

    def __init__(self) -> None:
        tag = uuid.uuid4().hex
        self.nip = fresh_nip("2")
        self.nik = f"3273{uuid.uuid4().int % 10**12:012d}"
        self.alamat = f"Jl. Rahasia No. {tag[:6]}, Bandung"
        self.email = f"rahasia.{tag[:8]}@example.go.id"
        self.marker = f"ISI-RAHASIA-{tag}".encode()
        self.pdf = b"%PDF-1.4\n% " + self.marker + b"\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
        self.filename = f"KTP_{self.nik}.pdf"

    def texts(self) -> list[str]:
        return [self.nik, self.alamat, self.email]


def message(source_type: type, nip: str, data: dict, stream: str) -> dict:
    """An internal message as the relay publishes it, at the contract's current version."""
    return {"event_id": uuid.uuid4().hex, "stream": stream, "version": 1, "type": source_type.TYPE,
            "schema_version": source_type.VERSION, "occurred_at": datetime.now(UTC).isoformat(), "nip": nip,
            "instansi_kode": INSTANSI, "data": data, "meta": {"actor": nip, "role": "pns"}}


def leaks(db, person: Person) -> list[str]:
    """Every collection of the service's database, searched for the PNS's values (text, bytes, base64)."""
    needles = [t.encode() for t in person.texts()] + [person.marker, base64.b64encode(person.marker),
                                                       base64.b64encode(person.pdf)]
    found = []
    for name in db.list_collection_names():
        for doc in db[name].find():
            raw = bson.encode(doc)
            found += [f"{name}: {needle[:24]!r}" for needle in needles if needle in raw]
    return found


def outage(url: str, down: bool) -> None:
    """Switch the fake e-Meterai provider's outage on or off."""
    request = urllib.request.Request(f"{url}/_outage", data=json.dumps({"down": down}).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=5):
        pass


@pytest.fixture
def provider(tmp_path, monkeypatch):
    """The fake e-Meterai process (answering); yields its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("PUPNS_METERAI_URL", url)
    monkeypatch.setenv("PUPNS_METERAI_RETRY_BASE", "0.2")
    monkeypatch.setenv("PUPNS_METERAI_RETRY_MAX", "0.5")
    monkeypatch.setenv("PUPNS_METERAI_RETRY_INTERVAL", "0.3")
    proc = meterai_sim.start(port, tmp_path / "meterai.log", down=False)
    yield url
    stop(proc)


@pytest.fixture
def documents(runner_factory, rabbit_config, db_prefix, monkeypatch, provider):
    # No key cache: an erasure in this test's key store is seen by the service at once.
    monkeypatch.setenv("PUPNS_KEY_CACHE_TTL", "0")
    runner_factory(rabbit_config, DocumentsService).start()
    with signed_proxy("documents", rabbit_config, timeout=60) as proxy:
        yield proxy


def test_contents_names_and_pdfs_are_sealed_readable_by_allowed_readers_and_gone_after_erasure(
        documents, rabbit_config, store_for):
    person, store, dispatch = Person(), store_for("documents"), event_dispatcher(rabbit_config)
    nip = person.nip
    uploaded = documents.upload_document(nip, INSTANSI, "ijazah", person.filename, base64.b64encode(person.pdf)
                                         .decode(), pns(nip))
    assert uploaded["sha256"] == hashlib.sha256(person.pdf).hexdigest()  # SPEC: the clear content's SHA-256
    registration = {"registration_number": f"PUPNS-2015-{uuid.uuid4().hex[:8].upper()}", "nip": nip,
                    "email": person.email, "nama": "Siti Rahayu", "instansi_kode": INSTANSI,
                    "instansi_nama": "Pemerintah Kota Bandung", "unit_kerja": "Dinas Pendidikan",
                    "roster": {"nik": person.nik}, "registered_at": "2015-09-01T10:00:00+07:00"}
    documents.get_receipt(registration)  # the first download renders and records the receipt
    # Clear sections (the worst case: a producer that does not seal yet): documents must still store none.
    sections = {"data_utama": {"nama": "Siti Rahayu", "nik": person.nik, "alamat": person.alamat,
                               "email": person.email},
                "data_posisi": {"jabatan": "Guru", "unit_kerja": "Dinas Pendidikan"}}
    submitted = message(FormSubmitted, nip, {"sections": sections, "submitted_at": "2015-12-29T23:59:58+07:00",
                                             "anomalies": [], "nama": "Siti Rahayu"}, f"form-{nip}")
    dispatch("forms", "FormSubmitted", submitted)
    wait_until(lambda: documents.get_statement(nip, pns(nip))["stamped"], timeout=30, message="statement stamped")
    assert store.read_stream(f"receipt-{registration['registration_number']}")

    # Nothing of the PNS in clear in any collection; every blob sealed, none keyed by a clear SHA-256.
    assert leaks(store.db, person) == []
    blobs = list(store.db["blobs"].find())
    assert len(blobs) == 4 and all(is_sealed_blob(bytes(b["content"])) for b in blobs)  # upload, receipt, 2 PDFs
    assert uploaded["sha256"] not in {b["_id"] for b in blobs}

    # The allowed readers get the clear file and name.
    for reader in (pns(nip), {"id": "v1", "role": "verifier", "instansi_kode": INSTANSI}, ADMIN):
        got = documents.get_document(uploaded["document_id"], reader)
        assert base64.b64decode(got["content_b64"]) == person.pdf and got["filename"] == person.filename
    assert [d["filename"] for d in documents.list_documents(nip)] == [person.filename]
    statement = documents.get_statement(nip, pns(nip))
    assert base64.b64decode(statement["content_b64"]).startswith(b"%PDF-")
    receipt = documents.get_receipt(registration)
    assert hashlib.sha256(base64.b64decode(receipt["content_b64"])).hexdigest() == receipt["sha256"]

    erased = KeyStore.from_env().erase(nip, reason="test", actor="admin")
    assert erased["key_ids"]
    for read in (lambda: documents.get_document(uploaded["document_id"], pns(nip)),
                 lambda: documents.get_statement(nip, ADMIN), lambda: documents.get_receipt(registration)):
        with pytest.raises(AppError) as gone:
            read()
        assert gone.value.code == "not_found" and gone.value.status == 404 and "dihapus" in gone.value.message
    (listed,) = documents.list_documents(nip)
    assert listed["filename"] is None and listed["_erased"] is True and listed["sha256"] == uploaded["sha256"]
    assert check(store, lambda db: Projector(db))["equal"]

    # The same PNS registering again gets a new key: the same file sent again is readable (not the old blob).
    again = documents.upload_document(nip, INSTANSI, "ijazah", "ijazah.pdf", base64.b64encode(person.pdf).decode(),
                                      pns(nip))
    got = documents.get_document(again["document_id"], pns(nip))
    assert base64.b64decode(got["content_b64"]) == person.pdf and got["filename"] == "ijazah.pdf"
    assert leaks(store.db, person) == []


def test_a_statement_waiting_for_its_stamp_is_abandoned_once_its_owner_is_erased(documents, provider,
                                                                                 rabbit_config, store_for):
    person, store = Person(), store_for("documents")
    nip = person.nip
    outage(provider, down=True)
    submitted = message(FormSubmitted, nip, {"sections": {"data_utama": {"nik": person.nik}},
                                             "submitted_at": "2015-12-29T23:59:58+07:00", "anomalies": []},
                        f"form-{nip}")
    event_dispatcher(rabbit_config)("forms", "FormSubmitted", submitted)
    stream = f"statement-{submitted['event_id']}"
    wait_until(lambda: "StampFailed" in [e["type"] for e in store.read_stream(stream)], timeout=30,
               message="first stamping attempt failed")
    KeyStore.from_env().erase(nip, reason="test", actor="admin")
    wait_until(lambda: [e["type"] for e in store.read_stream(stream)][-1:] == ["StampAbandoned"], timeout=30,
               message="statement abandoned")
    outage(provider, down=False)  # even an answering provider gets nothing more to stamp
    row = wait_until(lambda: (r := store.db["statements"].find_one({"_id": submitted["event_id"]}))
                     and r["state"] == "abandoned" and r, message="abandoned in the read model")
    assert row["last_error"] == "personal_data_erased"
    assert [e["type"] for e in store.read_stream(stream)].count("StampAbandoned") == 1
    assert "StatementStamped" not in [e["type"] for e in store.read_stream(stream)]
    with pytest.raises(AppError) as gone:
        documents.get_statement(nip, ADMIN)
    assert gone.value.code == "not_found"
    assert leaks(store.db, person) == []
    assert check(store, lambda db: Projector(db))["equal"]
