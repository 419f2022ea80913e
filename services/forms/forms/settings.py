"""forms' settings: the one place this service would read the environment."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    """forms' own knobs.

    forms reads no variable of its own today: the shared ones (MongoDB, RabbitMQ, the audit and blind-index
    keys) are read by `pupns.config` through the `Store` dependency. A new knob of this service becomes a field
    here, read in `from_env`, and nowhere else.
    """

    # An administrator's reopen reloads and retries this often when a PNS or verifier wrote the form meanwhile.
    reopen_attempts: int = 3

    @classmethod
    def from_env(cls) -> Settings:
        """The settings of a running service (the defaults: nothing to read yet)."""
        return cls()
