"""The documents nameko service: entrypoints only; the composition root of the documents service."""
from __future__ import annotations

import logging

from nameko.events import event_handler

from documents.adapters.meterai import MeteraiClient
from documents.adapters.projections import Projector
from documents.commands.files import Documents
from documents.commands.statements import Statements
from documents.settings import Settings
from pupns import contracts, service_base  # module import: `nameko run <pkg>.service` must find one class
from pupns.contracts.forms import FormSubmitted
from pupns.deadlines import rpc
from pupns.dependencies import Config, RetiredQueues, Store
from pupns.personal.provider import PersonalData
from pupns.polling import poll
from pupns.retry_queue import POLL_CEILING_SECONDS

log = logging.getLogger(__name__)
# A timer's interval is fixed when the class is defined, so this one setting is read at import.
STAMP_RETRY_INTERVAL = Settings.from_env().stamp_retry_interval


class DocumentsService(service_base.AuditMixin):
    """Uploaded files with their SHA-256, registration receipts and profile PDFs."""

    name = "documents"
    store = Store(setup_hook=lambda store: Projector.ensure_indexes(store.db))
    settings = Config(Settings.from_env)
    personal = PersonalData()  # contents and file names sealed per PNS (SPEC §7)
    # Receipts are rendered at their first download, no longer ahead of it for every registration (most are
    # never downloaded twice, many never): the queue that fed the ahead-of-time rendering is removed.
    retired = RetiredQueues("evt-identity-RegistrationSubmitted--documents.handle_registration_submitted")

    @property
    def app(self) -> Documents:
        return Documents(self.store, self.settings, self.personal)

    @property
    def statements(self) -> Statements:
        meterai = MeteraiClient(self.settings.meterai_url, self.settings.meterai_timeout)
        return Statements(self.store, meterai, self.settings, self.personal)

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

    # -- Surat Pernyataan + e-Meterai (retried until stamped; never blocks the submission) -------------
    @rpc
    def get_statement(self, nip: str, actor: dict) -> dict:
        """The latest Surat Pernyataan of a PNS: {state, stamped, note, ..., content_b64, sha256}."""
        return self.statements.get_statement(nip, actor)

    @event_handler("forms", "FormSubmitted", requeue_on_error=True)
    def handle_form_submitted(self, message: dict) -> None:
        """Issue the submission's Surat Pernyataan and request its e-Meterai, then try to stamp it once."""
        statements = self.statements
        contracts.consume(self.store, "handle_form_submitted", message, FormSubmitted, statements.on_form_submitted)
        try:
            statements.attempt(message["event_id"])
        except Exception:  # the statement is stored: the retry timer stamps it, the message is done
            log.exception("e-Meterai: first attempt for statement %s failed unexpectedly", message["event_id"])

    @poll(interval=STAMP_RETRY_INTERVAL, ceiling=POLL_CEILING_SECONDS)
    def retry_stamps(self) -> int:
        """Stamp every statement that is due (first tries that failed, backoff expired)."""
        return self.statements.stamp_due()
