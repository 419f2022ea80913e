"""Edge storage shared by every worker and replica: the edge store (MongoDB or memory) and idempotency."""
