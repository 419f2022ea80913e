"""A production start without its secrets refuses, naming what is missing; development keeps its defaults."""
from __future__ import annotations

import pytest

from pupns import config


def test_production_refuses_to_start_without_real_secrets(monkeypatch):
    for name in ("PUPNS_JWT_KEYS", "PUPNS_BLIND_INDEX_KEY", "PUPNS_AUDIT_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PUPNS_ENV", "development")
    config.require_production_secrets("forms")  # development: defaults are fine
    monkeypatch.setenv("PUPNS_ENV", "production")
    with pytest.raises(SystemExit) as refused:
        config.require_production_secrets("forms")
    assert all(name in str(refused.value) for name in ("PUPNS_JWT_KEYS", "PUPNS_BLIND_INDEX_KEY", "PUPNS_AUDIT_KEY"))
    monkeypatch.setenv("PUPNS_JWT_KEYS", config.DEV_JWT_KEYS)
    monkeypatch.setenv("PUPNS_BLIND_INDEX_KEY", "a-real-key-from-the-secret-store")
    monkeypatch.setenv("PUPNS_AUDIT_KEY", "an-audit-key-from-the-secret-store")
    with pytest.raises(SystemExit, match="development value"):
        config.require_production_secrets("forms")
    monkeypatch.setenv("PUPNS_JWT_KEYS", "k1:a-real-signing-key-from-the-secret-store")
    with pytest.raises(SystemExit, match="PUPNS_MASTER_KEY"):
        config.require_production_secrets("identity")  # identity seals personal data (issue 13)
    monkeypatch.setenv("PUPNS_MASTER_KEY", "k1:" + "A" * 43 + "=")
    monkeypatch.setenv("PUPNS_KEYSTORE_MONGO_URI", "mongodb://keys.example:27017")
    config.require_production_secrets("forms")
    config.require_production_secrets("identity")
    monkeypatch.delenv("PUPNS_BLIND_INDEX_KEY")
    config.require_production_secrets("verification")  # the blind-index key goes only where it is used
    monkeypatch.delenv("PUPNS_AUDIT_KEY")
    config.require_production_secrets("edge")  # and the audit key only to processes that append events
