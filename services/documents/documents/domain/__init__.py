"""The documents domain: typed events, the Statement aggregate and the upload rules (no framework, no I/O)."""
