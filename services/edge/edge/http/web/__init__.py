"""The PNS web pages: HTML shells and fingerprinted static assets served by the edge (never queued)."""
