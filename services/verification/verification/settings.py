"""verification's settings: the one place this service would read the environment."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    """How hard a verifier's decision tries before it answers `conflict`.

    verification reads no variable of its own today: the shared ones (MongoDB, RabbitMQ, the audit key) are read
    by `pupns.config` through the `Store` dependency. A new knob of this service becomes a field here, read in
    `from_env`, and nowhere else.
    """

    # The loser of a race must end with the winner's state (409 `invalid_state`), not a generic conflict: it
    # retries until the winner's decision is visible; ten attempts wait at most about 1.3 s in all.
    decision_attempts: int = 10
    backoff_first: float = 0.01  # seconds, before the second attempt (at most)
    backoff_max: float = 0.25  # seconds, the cap of any one wait

    @classmethod
    def from_env(cls) -> Settings:
        """The settings of a running service (the defaults: nothing to read yet)."""
        return cls()
