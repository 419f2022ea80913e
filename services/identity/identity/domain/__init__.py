"""identity's domain: aggregates, typed events and pure rules (no framework, no pymongo)."""
