"""forms' domain: the Form and Campaign aggregates, their events, and the pure rules (anomalies, prefill)."""
from forms.domain.campaign import CAMPAIGN_ID, Campaign, campaign_stream
from forms.domain.form import LIST_SECTIONS, REQUIRED_SECTIONS, Form, stream_name

__all__ = ["CAMPAIGN_ID", "LIST_SECTIONS", "REQUIRED_SECTIONS", "Campaign", "Form", "campaign_stream", "stream_name"]
