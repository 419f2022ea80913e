"""The campaign window as forms last observed it from identity (stream `campaign`)."""
from __future__ import annotations

from forms.domain.events import CampaignObserved
from pupns.aggregate import Aggregate, DomainEvent

CAMPAIGN_ID = "current"


def campaign_stream(_id: str = CAMPAIGN_ID) -> str:
    return "campaign"


class Campaign(Aggregate):
    """forms' copy of the campaign schedule: the latest one identity published."""

    EVENTS = (CampaignObserved,)

    def __init__(self, id: str = CAMPAIGN_ID) -> None:
        super().__init__(id)
        self.opens_at: str | None = None
        self.closes_at: str | None = None
        self.source_version = 0

    def observe(self, opens_at: str, closes_at: str, source_version: int) -> bool:
        """Keep a schedule unless it is older than the one kept (one delivered late); False when ignored."""
        if source_version and source_version <= self.source_version:
            return False
        self.trigger(CampaignObserved(opens_at, closes_at, source_version))
        return True

    def apply(self, event: DomainEvent) -> None:
        if isinstance(event, CampaignObserved):
            self.opens_at, self.closes_at = event.opens_at, event.closes_at
            self.source_version = event.source_version
