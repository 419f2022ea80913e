"""pupns.callers: signed caller tokens for RPC (who calls a service, for which actor and method, until when)."""
from __future__ import annotations

import time

from pupns import callers

ACTOR = {"id": "199001012015031001", "role": "pns", "instansi_kode": "A01"}


def test_a_token_proves_its_component_actor_and_method_until_it_expires():
    raw = callers.token("edge", ACTOR, "forms.get_form", ttl=30)
    assert callers.verify(raw, "forms.get_form") == {"c": "edge", "a": ACTOR, "m": "forms.get_form",
                                                     "exp": callers.verify(raw, "forms.get_form")["exp"]}
    assert callers.verify(raw, "forms.save_section") is None  # another method
    assert callers.verify(raw, "forms.get_form", now=time.time() + 31) is None  # expired
    assert callers.verify(raw[:-1] + ("0" if raw[-1] != "0" else "1"), "forms.get_form") is None  # altered


def test_a_token_without_a_method_serves_any_call_and_garbage_is_refused():
    raw = callers.token("cli", ttl=30)
    assert callers.verify(raw, "identity.set_campaign")["c"] == "cli"
    for junk in (None, "", 42, "a.b.c", "x" * 5000):
        assert callers.verify(junk, "identity.ping") is None


def test_the_actor_a_call_carries_is_found_and_compared():
    assert callers.actor_in(("x", ACTOR), {}) == ACTOR
    assert callers.actor_in(("x",), {"actor": ACTOR}) == ACTOR
    assert callers.actor_in(({"id": "1", "role": "hacker"},), {}) is None
    assert callers.same_actor(ACTOR, {**ACTOR, "extra": 1})
    assert not callers.same_actor(ACTOR, {**ACTOR, "role": "admin"})
