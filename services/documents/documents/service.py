"""The documents nameko service: thin entrypoints over `documents.application`."""
from __future__ import annotations

import logging
import os

from nameko.events import event_handler
from nameko.timer import timer

from documents.application import Documents
from documents.meterai import Meterai
from documents.statements import Statements
from pupns import service_base  # module import: `nameko run <pkg>.service` must find one class
from pupns.deadlines import rpc
from pupns.dependencies import Store, consume_once
from pupns.eventstore import EventStore

log = logging.getLogger(__name__)
STAMP_RETRY_INTERVAL = float(os.environ.get("PUPNS_METERAI_RETRY_INTERVAL", "2"))


def _setup(store: EventStore) -> None:
    store.db["statements"].create_index([("state", 1), ("next_attempt_at", 1)])
    store.db["statements"].create_index([("nip", 1), ("issued_position", -1)])


class DocumentsService(service_base.AuditMixin):
    """Uploaded files with their SHA-256, registration receipts and profile PDFs."""

    name = "documents"
    store = Store(setup_hook=_setup)
    meterai = Meterai()

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

    # -- Surat Pernyataan + e-Meterai (retried until stamped; never blocks the submission) -------------
    @property
    def statements(self) -> Statements:
        return Statements(self.store, self.meterai)

    @rpc
    def get_statement(self, nip: str, actor: dict) -> dict:
        """The latest Surat Pernyataan of a PNS: {state, stamped, note, ..., content_b64, sha256}."""
        return self.statements.get_statement(nip, actor)

    @event_handler("forms", "FormSubmitted", requeue_on_error=True)
    def handle_form_submitted(self, message: dict) -> None:
        """Issue the submission's Surat Pernyataan and request its e-Meterai, then try to stamp it once."""
        statements = self.statements
        consume_once(self.store, "handle_form_submitted", message,
                     lambda key: statements.on_form_submitted(message, key))
        try:
            statements.attempt(message["event_id"])
        except Exception:  # the statement is stored: the retry timer stamps it, the message is done
            log.exception("e-Meterai: first attempt for statement %s failed unexpectedly", message["event_id"])

    @timer(interval=STAMP_RETRY_INTERVAL)
    def retry_stamps(self) -> None:
        """Stamp every statement that is due (first tries that failed, backoff expired)."""
        self.statements.stamp_due()
