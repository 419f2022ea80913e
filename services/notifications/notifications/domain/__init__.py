"""The notifications domain: typed events, the queued e-mail aggregate and the e-mail texts (no I/O)."""
