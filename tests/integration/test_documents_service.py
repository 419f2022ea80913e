"""Documents service on real RabbitMQ and SecantusDB: uploads, access rules, receipts, profile PDF."""
from __future__ import annotations

import base64
import hashlib
import uuid

import eventlet
import pytest
from nameko.standalone.events import event_dispatcher

from documents.service import DocumentsService
from pupns.errors import AppError
from tests.factories import fresh_nip
from tests.rpc import signed_proxy

PDF_BYTES = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
JPEG_BYTES = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64 + b"\xff\xd9"
INSTANSI = "4011"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def pns(nip: str) -> dict:
    return {"id": nip, "role": "pns", "instansi_kode": INSTANSI}


def registration(nip: str) -> dict:
    return {"registration_number": f"PUPNS-2015-{uuid.uuid4().hex[:8].upper()}", "nip": nip,
            "nama": "Siti Rahayu", "instansi_kode": INSTANSI, "instansi_nama": "Pemerintah Kota Bandung",
            "unit_kerja": "Dinas Pendidikan", "registered_at": "2015-09-01T10:00:00+07:00",
            "email": "siti@example.go.id"}


@pytest.fixture
def documents(runner_factory, rabbit_config, db_prefix):
    runner_factory(rabbit_config, DocumentsService).start()
    with signed_proxy("documents", rabbit_config) as proxy:
        yield proxy


def test_upload_records_sha256_and_only_allowed_readers_get_the_file(documents, store_for):
    nip = fresh_nip()
    result = documents.upload_document(nip, INSTANSI, "ijazah", "../ijazah S1.pdf", b64(PDF_BYTES), pns(nip))
    assert result["sha256"] == hashlib.sha256(PDF_BYTES).hexdigest()
    assert result["size"] == len(PDF_BYTES) and result["content_type"] == "application/pdf"

    (event,) = store_for("documents").read_stream(f"document-{result['document_id']}")
    assert event["type"] == "DocumentUploaded" and event["nip"] == nip
    assert event["data"]["sha256"] == result["sha256"] and event["schema_version"] == 2
    assert event["data"]["filename"].startswith("enc:v1:")  # sealed: a file name may name its owner

    for reader in (pns(nip), {"id": "verif1", "role": "verifier", "instansi_kode": INSTANSI},
                   {"id": "admin", "role": "admin", "instansi_kode": None}):
        got = documents.get_document(result["document_id"], reader)
        assert base64.b64decode(got["content_b64"]) == PDF_BYTES and got["content_type"] == "application/pdf"
        assert got["filename"] == "ijazah S1.pdf"
    with pytest.raises(AppError) as other_pns:
        documents.get_document(result["document_id"], pns(fresh_nip()))
    assert other_pns.value.code == "not_found"
    with pytest.raises(AppError) as other_verifier:
        documents.get_document(result["document_id"], {"id": "v2", "role": "verifier", "instansi_kode": "9999"})
    assert other_verifier.value.code == "forbidden"
    # A verifier learns nothing from a document id: a missing one answers like another instansi's.
    with pytest.raises(AppError) as missing_for_verifier:
        documents.get_document(uuid.uuid4().hex, {"id": "v2", "role": "verifier", "instansi_kode": "9999"})
    assert (missing_for_verifier.value.code, str(missing_for_verifier.value)) == (
        other_verifier.value.code, str(other_verifier.value))
    assert [(d["document_id"], d["filename"]) for d in documents.list_documents(nip)] == [
        (result["document_id"], "ijazah S1.pdf")]


def test_photo_must_be_jpeg_by_content(documents):
    nip = fresh_nip()
    result = documents.upload_document(nip, INSTANSI, "foto", "foto.pdf", b64(JPEG_BYTES), pns(nip))
    assert result["content_type"] == "image/jpeg"


@pytest.mark.parametrize("kind, filename, content, code, status", [
    ("rapor", "a.pdf", PDF_BYTES, "validation_error", 422),
    ("ijazah", "ijazah.pdf", JPEG_BYTES, "unsupported_type", 415),
    ("foto", "foto.jpg", PDF_BYTES, "unsupported_type", 415),
    ("ijazah", "ijazah.pdf", b"MZ\x90\x00 not a pdf", "unsupported_type", 415),
    ("foto", "foto.jpg", JPEG_BYTES + b"\x00" * 300_000, "too_large", 413),
])
def test_bad_uploads_get_the_error_envelope_and_store_nothing(documents, store_for, kind, filename, content,
                                                              code, status):
    nip = fresh_nip()
    with pytest.raises(AppError) as err:
        documents.upload_document(nip, INSTANSI, kind, filename, b64(content), pns(nip))
    assert err.value.code == code and err.value.status == status
    if code == "validation_error":
        assert "kind" in err.value.fields
    store = store_for("documents")
    assert store.count() == 0 and store.db["blobs"].count_documents({}) == 0


def test_pdf_limit_is_configurable(runner_factory, rabbit_config, db_prefix, monkeypatch, store_for):
    monkeypatch.setenv("PUPNS_MAX_PDF_BYTES", "32")
    runner_factory(rabbit_config, DocumentsService).start()
    nip = fresh_nip()
    with signed_proxy("documents", rabbit_config) as proxy, pytest.raises(AppError) as err:
        proxy.upload_document(nip, INSTANSI, "sk_cpns", "sk.pdf", b64(PDF_BYTES), pns(nip))
    assert err.value.code == "too_large"
    assert store_for("documents").count() == 0


def test_receipt_is_rendered_once_even_under_concurrent_first_calls(documents, rabbit_config, store_for):
    reg = registration(fresh_nip())
    # Warm-up append: EventStore's position counter is created by the first append, and concurrent
    # first upserts on SecantusDB can return None (lib fix proposed: seed it in ensure_indexes).
    documents.get_receipt(registration(fresh_nip()))

    def fetch():
        with signed_proxy("documents", rabbit_config) as proxy:
            return proxy.get_receipt(reg)

    results = [t.wait() for t in [eventlet.spawn(fetch) for _ in range(4)]]
    assert len({r["sha256"] for r in results}) == 1
    content = base64.b64decode(results[0]["content_b64"])
    assert content.startswith(b"%PDF-") and hashlib.sha256(content).hexdigest() == results[0]["sha256"]
    events = store_for("documents").read_stream(f"receipt-{reg['registration_number']}")
    assert [e["type"] for e in events] == ["ReceiptIssued"]
    assert documents.get_receipt(reg)["sha256"] == results[0]["sha256"]


def test_a_registration_costs_documents_nothing_until_its_receipt_is_downloaded(documents, rabbit_config, store_for):
    """Receipts are rendered at the first download (not ahead, for every registration): a submitted registration
    stores nothing here, and the old ahead-of-time queue is deleted at start so it cannot fill up."""
    from kombu import Connection, Exchange, Queue
    from nameko.containers import ServiceContainer

    from documents.service import DocumentsService

    retired = "evt-identity-RegistrationSubmitted--documents.handle_registration_submitted"
    with Connection(rabbit_config["AMQP_URI"]) as conn:  # as an older deployment left it, bound and filling up
        Queue(retired, Exchange("identity.events", type="topic", durable=True), routing_key="RegistrationSubmitted",
              durable=True, channel=conn.channel()).declare()
    container = ServiceContainer(DocumentsService, rabbit_config)  # held: a provider keeps only a weak reference
    provider = DocumentsService.retired.bind(container, "retired")
    provider.setup()
    with Connection(rabbit_config["AMQP_URI"]) as conn, pytest.raises(Exception, match="NOT_FOUND"):
        conn.channel().queue_declare(retired, passive=True)

    reg = registration(fresh_nip())
    store = store_for("documents")
    before = store.count()
    event_dispatcher(rabbit_config)("identity", "RegistrationSubmitted", {
        "event_id": uuid.uuid4().hex, "stream": f"account-{reg['nip']}", "version": 1,
        "type": "RegistrationSubmitted", "occurred_at": reg["registered_at"], "nip": reg["nip"],
        "instansi_kode": INSTANSI, "data": {**reg, "roster": {}}, "meta": {}})
    first = documents.get_receipt(reg)  # the download: rendered and recorded now
    assert store.count() == before + 1
    assert [e["data"]["sha256"] for e in store.read_stream(f"receipt-{reg['registration_number']}")] == \
        [first["sha256"]]
    assert documents.get_receipt(reg)["sha256"] == first["sha256"] and store.count() == before + 1


def test_profile_pdf_is_rendered_from_sections(documents):
    data = {"nip": "198001012005011001", "nama": "Siti Rahayu", "sections": {
        "data_utama": {"nama": "Siti Rahayu", "agama": "Islam"},
        "riwayat_pendidikan": [{"tingkat": "S1", "nama_sekolah": "Universitas Padjadjaran", "tahun_lulus": 2003}],
        "riwayat_diklat": []}}
    content = base64.b64decode(documents.render_profile(data)["content_b64"])
    assert content.startswith(b"%PDF-") and len(content) > 1000
