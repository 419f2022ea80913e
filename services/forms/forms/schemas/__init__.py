"""Administrator use cases on forms: reopen a verified record, with a reason (audited)."""
from __future__ import annotations

from marshmallow import ValidationError

from forms.application import as_app_error, load, save
from forms.domain import stream_name
from forms.fields import StrictSchema, Text
from pupns.actors import Actor, actor_meta, require_role
from pupns.aggregate import DomainError
from pupns.errors import AppError, validation_error
from pupns.eventstore import ConcurrencyError, EventStore

ATTEMPTS = 3


class ReasonSchema(StrictSchema):
    """`{reason}`: required, not blank."""

    reason = Text(required=True, max_length=1000)


def load_reason(reason: object) -> str:
    try:
        return ReasonSchema().load({"reason": reason})["reason"]
    except ValidationError as exc:
        raise validation_error({k: [str(m) for m in v] for k, v in exc.messages.items()}) from None


def reopen_record(store: EventStore, nip: str, reason: object, actor: Actor) -> dict:
    """A verified form goes back to draft: the PNS may edit and submit it again (inside the window)."""
    require_role(actor, "admin")
    text = load_reason(reason)
    for _ in range(ATTEMPTS):
        form = load(store, nip)
        try:
            form.reopen(text)
            version = save(store, form, actor_meta(actor))
        except DomainError as exc:
            raise as_app_error(exc) from exc
        except ConcurrencyError:
            continue
        return {"nip": nip, "status": form.status, "version": version}
    raise AppError("conflict", extra={"version": store.stream_version(stream_name(nip))})
