"""identity's settings: the only place the service reads its environment (shared values come from pupns.config)."""
from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_REMINDERS = "7d,1d"


@dataclass(frozen=True)
class Settings:
    """What identity is configured with, read once at the composition root."""

    admin_password: str | None = None  # the first administrator's password, created at first start
    reminders: str = DEFAULT_REMINDERS  # deadline reminder offsets, e.g. "7d,1d" (units s, m, h, d)

    @classmethod
    def from_env(cls) -> Settings:
        """PUPNS_ADMIN_PASSWORD and PUPNS_REMINDERS."""
        return cls(admin_password=os.environ.get("PUPNS_ADMIN_PASSWORD") or None,
                   reminders=os.environ.get("PUPNS_REMINDERS", DEFAULT_REMINDERS))
