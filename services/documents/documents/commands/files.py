"""Use cases of the documents service: receipts, uploads, downloads, profile rendering."""
from __future__ import annotations

import base64
import time
import uuid

from documents.adapters import pdf
from documents.adapters.blobs import BlobStore
from documents.adapters.projections import Projector, ReadModels
from documents.domain import uploads
from documents.domain.events import DocumentUploaded, ReceiptIssued
from documents.settings import Settings
from pupns.actors import Actor, actor_meta
from pupns.errors import AppError
from pupns.eventstore import AlreadyApplied, ConcurrencyError, EventStore
from pupns.personal import ERASED, FieldCodec, open_fields
from pupns.repository import new_event

RECEIPT_RACE_RETRIES = 5
ERASED_DOCUMENT = "Dokumen ini telah dihapus bersama data pribadi pemiliknya."


def b64(content: bytes) -> str:
    return base64.b64encode(content).decode("ascii")


class Documents:
    """Documents use cases over one EventStore (its database also holds `blobs` and read models).

    Contents are sealed per PNS in `blobs` and the file name in the event; both open only for an allowed
    reader, and a document whose owner's data key was erased answers 404 (`not_found`) like a missing one."""

    def __init__(self, store: EventStore, settings: Settings, codec: FieldCodec):
        self.store, self.settings, self.codec = store, settings, codec
        self.blobs = BlobStore(store.db, codec)
        self.projector = Projector(store.db)
        self.read = ReadModels(store.db)

    # -- receipts ----------------------------------------------------------------------------
    def get_receipt(self, registration: dict, idempotency_key: str | None = None) -> dict:
        """The stored receipt of a registration, rendered and recorded on first use."""
        number = registration.get("registration_number")
        if not number or not registration.get("nip"):
            raise AppError("validation_error", fields={"registration_number": ["wajib diisi"]})
        for attempt in range(RECEIPT_RACE_RETRIES):
            found = self._stored_receipt(number)
            if found:
                return found
            try:
                return self._issue_receipt(registration, idempotency_key)
            except ConcurrencyError:
                # A concurrent first call is committing its receipt, the one of record: read it.
                time.sleep(0.02 * (attempt + 1))
        raise AppError("unavailable")

    def _issue_receipt(self, registration: dict, idempotency_key: str | None) -> dict:
        number = registration["registration_number"]
        content = pdf.render_receipt(registration)
        digest = self.blobs.put(registration["nip"], content)
        event = ReceiptIssued(number, digest, len(content))
        self.store.append(f"receipt-{number}", 0, [new_event(event)], nip=registration["nip"],
                          instansi_kode=registration.get("instansi_kode"),
                          idempotency_key=idempotency_key, projection=self.projector.apply)
        return {"content_b64": b64(content), "sha256": digest}

    def _stored_receipt(self, number: str) -> dict | None:
        issued = [e for e in self.store.read_stream(f"receipt-{number}") if e["type"] == "ReceiptIssued"]
        if not issued:
            return None
        digest = issued[0]["data"]["sha256"]
        content = self.blobs.get(issued[0]["nip"], digest)
        if content is ERASED:  # the registration's PNS was erased: a re-registration gets a new number
            raise AppError("not_found", ERASED_DOCUMENT)
        return {"content_b64": b64(content), "sha256": digest}

    # -- uploaded documents --------------------------------------------------------------------
    def upload_document(self, nip: str, instansi_kode: str | None, kind: str, filename: str | None,
                        content_b64: str, actor: Actor, idempotency_key: str | None = None) -> dict:
        """Check and store one file for one PNS; records DocumentUploaded with its SHA-256."""
        role = (actor or {}).get("role")
        if not (role == "admin" or (role == "pns" and actor.get("id") == nip)):
            raise AppError("forbidden")
        upload = uploads.check_upload(kind, filename, content_b64, self.settings.uploads)
        digest = self.blobs.put(nip, upload.content)
        document_id = uuid.uuid4().hex
        result = {"document_id": document_id, "sha256": digest, "size": upload.size,
                  "content_type": upload.content_type}
        # A file name is the PNS's own text and often names them (KTP_<nik>.pdf): sealed like a personal field.
        event = DocumentUploaded(document_id, digest, upload.size, upload.content_type, upload.kind,
                                 self.codec.seal(nip, upload.filename))
        try:
            self.store.append(f"document-{document_id}", 0, [new_event(event)], actor_meta(actor), nip=nip,
                              instansi_kode=instansi_kode, idempotency_key=idempotency_key,
                              idempotency_result=result, projection=self.projector.apply)
        except AlreadyApplied as seen:
            return seen.result
        return result

    def get_document(self, document_id: str, actor: Actor) -> dict:
        """The file itself, for its owner, verifiers of its instansi and admins."""
        found = self.read.document(document_id)
        if found is None:
            # A verifier gets the same 403 for a missing id as for another instansi's document (no oracle).
            if (actor or {}).get("role") == "verifier":
                raise AppError("forbidden")
            raise AppError("not_found", "Dokumen tidak ditemukan.")
        uploads.can_read(found, actor)
        content = self.blobs.get(found["nip"], found["sha256"])
        if content is ERASED:
            raise AppError("not_found", ERASED_DOCUMENT)
        return {"content_b64": b64(content), "content_type": found["content_type"],
                "filename": self.codec.open_(found["nip"], found["filename"]), "sha256": found["sha256"]}

    def list_documents(self, nip: str) -> list[dict]:
        """Metadata of every document of one PNS, oldest first (erased file names: null, `_erased` true)."""
        return open_fields(self.codec, nip, self.read.documents_of(nip))

    @staticmethod
    def render_profile(data: dict) -> dict:
        """A 'Profil PNS' PDF from the profile data (sections and header fields)."""
        if not isinstance(data, dict):
            raise AppError("validation_error", fields={"data": ["harus berupa objek"]})
        return {"content_b64": b64(pdf.render_profile(data))}
