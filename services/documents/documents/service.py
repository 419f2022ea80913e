"""The documents nameko service: thin entrypoints over `documents.application`."""
from __future__ import annotations

from nameko.events import event_handler
from nameko.rpc import rpc

from documents.application import Documents
from pupns import service_base  # module import: `nameko run <pkg>.service` must find one class
from pupns.dependencies import Store, consume_once


class DocumentsService(service_base.AuditMixin):
    """Uploaded files with their SHA-256, registration receipts and profile PDFs."""

    name = "documents"
    store = Store()

    @property
    def app(self) -> Documents:
        return Documents(self.store)

    @rpc
    def get_receipt(self, registration: dict) -> dict:
        """{content_b64, sha256} of the registration receipt (rendered and recorded on first call)."""
        return self.app.get_receipt(registration)

    @rpc
    def upload_document(self, nip, instansi_kode, kind, filename, content_b64, actor, idempotency_key=None) -> dict:
        """Store one checked upload; {document_id, sha256, size, content_type}."""
        return self.app.upload_document(nip, instansi_kode, kind, filename, content_b64, actor, idempotency_key)

    @rpc
    def get_document(self, document_id: str, actor: dict) -> dict:
        """{content_b64, content_type, filename, sha256} for a reader allowed to see it."""
        return self.app.get_document(document_id, actor)

    @rpc
    def list_documents(self, nip: str) -> list[dict]:
        """Metadata of one PNS's documents."""
        return self.app.list_documents(nip)

    @rpc
    def render_profile(self, data: dict) -> dict:
        """{content_b64} of a 'Profil PNS' PDF."""
        return self.app.render_profile(data)

    @event_handler("identity", "RegistrationSubmitted", requeue_on_error=True)
    def handle_registration_submitted(self, message: dict) -> None:
        """Issue the receipt ahead of the first download."""
        registration = {**message["data"], "instansi_kode": message.get("instansi_kode")}
        consume_once(self.store, "handle_registration_submitted", message,
                     lambda key: self.app.get_receipt(registration, idempotency_key=key))
