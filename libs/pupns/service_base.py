"""RPC entrypoints every service offers: audit events by NIP, hash-chain check, health."""
from __future__ import annotations

from pupns.deadlines import rpc
from pupns.integrity import audit_view, verify_chains_page
from pupns.service_metrics import MetricsEndpoint


class AuditMixin:
    """Mix into a nameko service class that has a `store` (pupns.dependencies.Store)."""

    metrics = MetricsEndpoint()  # /metrics of the process (pupns_rpc_expired_total and others)

    @rpc
    def audit_events(self, nip: str) -> list[dict]:
        """Every event this service stored about one PNS, in order."""
        return [audit_view(doc) for doc in self.store.read_by_nip(nip)]

    @rpc
    def verify_chains_page(self, cursor: dict | None = None) -> dict:
        """One bounded part of the chain check, from `cursor` (None: the start); see pupns.integrity."""
        return verify_chains_page(self.store, cursor)

    @rpc
    def event_log_size(self) -> dict:
        """About how many events this service's log holds (the store's estimate: cheap, not exact)."""
        return {"service": self.store.service, "events": self.store.events.estimated_document_count()}

    @rpc
    def ping(self) -> dict:
        """Answers only when the service's store answers."""
        self.store.db.command("ping")
        return {"service": self.store.service, "ok": True}
