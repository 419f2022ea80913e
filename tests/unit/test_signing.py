"""One key per purpose (HKDF from each kid's root secret): a token made for one use is worthless for another."""
from __future__ import annotations

import pytest

from pupns import signing


@pytest.fixture(autouse=True)
def keys(monkeypatch):
    monkeypatch.setenv("PUPNS_JWT_KEYS", "old:first-root-secret-of-at-least-32-bytes,new:second-root-secret-32-bytes")
    monkeypatch.setenv("PUPNS_JWT_ACTIVE_KID", "new")


def test_each_purpose_has_its_own_key_and_none_is_the_root():
    keys = {purpose: signing.purpose_key(purpose, "new") for purpose in signing.PURPOSES}
    assert len(set(keys.values())) == len(signing.PURPOSES)
    assert b"second-root-secret-32-bytes" not in keys.values() and all(len(k) == 32 for k in keys.values())
    assert signing.purpose_key("device", "gone") is None
    with pytest.raises(ValueError):
        signing.purpose_key("anything", "new")


def test_a_sealed_token_opens_only_for_its_purpose_and_survives_rotation(monkeypatch):
    token = signing.seal("queue-ticket", {"k": 1})
    assert signing.unseal("queue-ticket", token) == {"k": 1}
    assert signing.unseal("device", token) is None  # the same bytes mean nothing as a device cookie
    assert signing.unseal("queue-ticket", token.replace(".new.", ".old.")) is None
    monkeypatch.setenv("PUPNS_JWT_ACTIVE_KID", "old")  # rotation: tokens of a still-listed kid stay good
    assert signing.unseal("queue-ticket", token) == {"k": 1}
    monkeypatch.setenv("PUPNS_JWT_KEYS", "old:first-root-secret-of-at-least-32-bytes")  # "new" retired
    assert signing.unseal("queue-ticket", token) is None
