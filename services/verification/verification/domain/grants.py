"""Field grants of public subscribers (SPEC §5, §7): which personal fields one subscriber receives in clear."""
from __future__ import annotations

import re

from pupns.aggregate import Aggregate, DomainError, DomainEvent
from pupns.personal import PERSONAL_FIELDS
from verification.domain.events import SubscriberGrantsSet

# Every personal field but the password hash (never leaves identity); pupns_cli.grants.GRANTABLE names the same.
GRANTABLE = tuple(sorted(PERSONAL_FIELDS - {"password_hash"}))
# The CLI's subscriber names (queue `sub.NAME`): also a safe last word of a routing key (no dot, no wildcard).
NAME_PATTERN = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?")


def subscriber_stream(name: str) -> str:
    return f"subscriber-{name}"


def checked_grants(name: object, fields: object) -> tuple[str, list[str]]:
    """The subscriber's name and its grants (sorted, without repeats); DomainError `validation_error` otherwise."""
    problems: dict[str, list[str]] = {}
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        problems["name"] = ["huruf kecil, angka dan '-' (1-40 karakter)"]
    if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        problems["fields"] = ["daftar nama field"]
    elif unknown := sorted(set(fields) - set(GRANTABLE)):
        problems["fields"] = [f"tidak dapat diberikan: {', '.join(unknown)}; pilih dari: {', '.join(GRANTABLE)}"]
    if problems:
        raise DomainError("validation_error", fields=problems)
    return name, sorted(set(fields))  # type: ignore[arg-type]


class SubscriberGrants(Aggregate):
    """One subscriber's granted fields (stream `subscriber-{name}`); every change is an audited event."""

    EVENTS = (SubscriberGrantsSet,)

    def __init__(self, id: str) -> None:
        super().__init__(id)
        self.fields: list[str] = []

    def set(self, fields: list[str]) -> bool:
        """Grant exactly `fields` (empty: withdraw all); False when that is already the case."""
        if fields == self.fields:
            return False
        self.trigger(SubscriberGrantsSet(self.id, list(fields), list(self.fields)))
        return True

    def apply(self, event: DomainEvent) -> None:
        if isinstance(event, SubscriberGrantsSet):
            self.fields = list(event.fields)
