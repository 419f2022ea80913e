"""marshmallow schemas of forms' RPC boundary: the sections (`sections`, on `fields`) and a reopen's reason."""
from __future__ import annotations

from marshmallow import ValidationError

from forms.schemas.fields import StrictSchema, Text
from pupns.errors import validation_error


class ReasonSchema(StrictSchema):
    """`{reason}`: required, not blank."""

    reason = Text(required=True, max_length=1000)


def load_reason(reason: object) -> str:
    """The reason an administrator gives, or the spec's 422 envelope."""
    try:
        return ReasonSchema().load({"reason": reason})["reason"]
    except ValidationError as exc:
        raise validation_error({k: [str(m) for m in v] for k, v in exc.messages.items()}) from None
