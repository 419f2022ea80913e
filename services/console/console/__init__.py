"""Verifier console: a small server-rendered WSGI app over nameko RPC (identity, verification, documents)."""
