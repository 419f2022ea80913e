"""e-Meterai stamping of the submission statement (documents events, shown on the PNS's timeline)."""
from __future__ import annotations

# -- e-Meterai stamping of the submission statement (documents events, shown on the timeline) ---------
# The PNS's status is never changed by these: a stamp that is late (provider outage) never costs a deadline.
STAMPING_STREAM = "stamping-{nip}"
STAMPING_STATES = {"StampRequested": "requested", "StampFailed": "pending", "StatementStamped": "stamped"}
STAMPING_TIMELINE = {
    "requested": ("stamp_requested", "Surat pernyataan diterbitkan dan sedang dibubuhi e-Meterai."),
    "pending": ("stamp_pending", "Menunggu e-Meterai (layanan e-Meterai sedang gangguan, akan dicoba ulang "
                                 "otomatis). Data Anda tetap tercatat terkirim tepat waktu."),
    "stamped": ("statement_stamped", "Surat pernyataan telah dibubuhi e-Meterai."),
}


def stamping_note(message: dict, noted: list[dict]) -> dict | None:
    """What to note for one documents stamping event, given what was noted before (None: nothing new).

    One entry per statement and state: repeated failures add no noise, and a failure or request that
    arrives after the stamp (queues are not ordered across event types) is not shown.
    """
    state = STAMPING_STATES.get(message["type"])
    statement_id = message["data"].get("statement_id")
    seen = {(e["data"].get("statement_id"), e["data"].get("state")) for e in noted}
    if state is None or (statement_id, state) in seen or (statement_id, "stamped") in seen:
        return None
    if state == "requested" and (statement_id, "pending") in seen:
        return None
    return {"statement_id": statement_id, "state": state, "at": message.get("occurred_at"),
            "attempt": message["data"].get("attempt"), "stamp_serial": message["data"].get("stamp_serial")}


def stamping_timeline_entry(doc: dict) -> dict:
    """One `GET /me` timeline item for a `StampingNoted` event."""
    label, note = STAMPING_TIMELINE[doc["data"]["state"]]
    return {"at": doc["data"].get("at") or doc["meta"].get("occurred_at"), "type": label, "by_role": "system",
            "note": note}


def timeline_order(events: list[dict]):
    """Sort key for `GET /me`: stored order, except that a statement's stamping entries never come before the
    submission they follow (identity and documents consume forms.FormSubmitted in parallel; the status change
    names that event, the statement's id, as its `cause`)."""
    anchors = {e["meta"].get("cause"): e["position"] for e in events if e["type"] == "AccountStatusChanged"}

    def key(event: dict) -> tuple[int, int, int]:
        if event["type"] != "StampingNoted":
            return event["position"], 0, event["position"]
        return max(event["position"], anchors.get(event["data"].get("statement_id"), 0)), 1, event["position"]
    return key
