"""Queue tickets' cheap parts: the cookie formatted once a second and the nonce drawn without a system call."""
from __future__ import annotations

import time

from werkzeug.http import dump_cookie, parse_cookie

from edge.surge import tickets


def test_the_ticket_cookie_is_what_werkzeug_writes_for_it():
    token = "eyJrIjoxfQ.b.0123456789abcdef0123456789abcdef"
    now = time.time()
    made = tickets.cookie(token, 3600, now)
    expected = dump_cookie(tickets.COOKIE, token, max_age=3600, httponly=True, samesite="Lax", path="/")
    # Expires may differ by the second between the two calls; everything else is the same text.
    assert made.split("; Expires=")[0] == expected.split("; Expires=")[0]
    assert sorted(made.split("; ")[2:]) == sorted(expected.split("; ")[2:])
    assert parse_cookie(made.split(";")[0])[tickets.COOKIE] == token
    assert "Max-Age=60" in tickets.cookie(token, 60, now)  # another ttl: attributes made again


def test_a_token_werkzeug_would_quote_is_left_to_werkzeug():
    odd = 'payload.k"id.mac'
    assert tickets.cookie(odd, 60, time.time()) == dump_cookie(tickets.COOKIE, odd, max_age=60, httponly=True,
                                                                samesite="Lax", path="/")


def test_newcomers_get_distinct_nonces_and_later_places():
    now = time.time()
    issued = [tickets.new_ticket(now, now + 5) for _ in range(1000)]
    assert len({t.nonce for t in issued}) == 1000 and all(len(t.nonce) == 12 for t in issued)
    assert [t.key for t in issued] == sorted({t.key for t in issued})
    signed = tickets.verify(tickets.sign(issued[-1]), ttl=60, now=now)
    assert signed == issued[-1]
