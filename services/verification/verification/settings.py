"""verification's settings: the one place this service reads the environment."""
from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    """How hard a verifier's decision tries before it answers `conflict`; how fresh the relay's grants are.

    The shared variables (MongoDB, RabbitMQ, the audit key, the key store) are read by `pupns.config` through the
    dependencies; this service's own knobs are fields here, read in `from_env`, and nowhere else.
    """

    # The loser of a race must end with the winner's state (409 `invalid_state`), not a generic conflict: it
    # retries until the winner's decision is visible; ten attempts wait at most about 1.3 s in all.
    decision_attempts: int = 10
    backoff_first: float = 0.01  # seconds, before the second attempt (at most)
    backoff_max: float = 0.25  # seconds, the cap of any one wait
    # How long the relay reuses the subscribers' field grants it read: a grant or a withdrawal reaches the
    # published copies within this many seconds (PUPNS_GRANTS_CACHE_SECONDS).
    grants_cache_seconds: float = 2.0

    @classmethod
    def from_env(cls) -> Settings:
        """The settings of a running service."""
        return cls(grants_cache_seconds=float(os.environ.get("PUPNS_GRANTS_CACHE_SECONDS", "2")))
