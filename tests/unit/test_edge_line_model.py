"""The line's part and its absorbing of other parts, kept up as holders come and go, against a model recomputed
from every holder at each step (hypothesis drives both with the same operations)."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.surge import line as line_module
from edge.surge.line import BUCKET, Line, Packed
from edge.surge.tickets import KEYS_PER_SECOND, Ticket

GRACE = 3.0
HEAD = 3  # a head this short puts most holders of a short run in the tail's buckets


def ticket(place: int, due: float) -> Ticket:
    return Ticket(100 * KEYS_PER_SECOND + place * (BUCKET // 4), f"n{place}", due)


def expected_part(holders: dict[str, dict], admitted: list[int]) -> Packed:
    """The part as it must read: every live holder sorted by place, the first HEAD exact, the rest counted."""
    ordered = sorted(holders.values(), key=lambda h: h["key"])
    tail: dict[int, int] = {}
    for holder in ordered[HEAD:]:
        bucket = holder["key"] // BUCKET * BUCKET
        tail[bucket] = tail.get(bucket, 0) + 1
    head, buckets = ordered[:HEAD], sorted(tail)
    return Packed(keys=[h["key"] for h in head], returned=[h["returned"] for h in head],
                  seen=[h["seen"] for h in head], buckets=buckets, waiting=[tail[b] for b in buckets],
                  admitted=admitted)


operation = st.one_of(
    st.tuples(st.just("wait"), st.integers(0, 40), st.floats(1, 30), st.booleans()),
    st.tuples(st.just("leave"), st.integers(0, 40)),
    st.tuples(st.just("prune"), st.floats(0, 40)),
    st.tuples(st.just("absorb"), st.lists(st.integers(0, 40), max_size=6), st.lists(st.integers(0, 40), max_size=6)),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(operation, max_size=60))
def test_the_part_and_absorb_match_a_model_recomputed_from_every_holder(ops):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(line_module, "HEAD_EXACT", HEAD)
        line, holders, admitted, now = Line(GRACE), {}, [], 100.0
        for op in ops:
            now += 0.25
            if op[0] == "wait":
                _, place, wait, returned = op
                t = ticket(place, now + wait)
                line.wait(t, returned=returned, now=now)
                old = holders.get(t.nonce)
                holders[t.nonce] = ({"key": t.key, "seen": now, "expires": t.due + GRACE, "returned": returned}
                                    if old is None else {**old, "seen": max(old["seen"], now),
                                                         "expires": max(old["expires"], t.due + GRACE),
                                                         "returned": old["returned"] or returned})
            elif op[0] == "leave":
                t = ticket(op[1], now)
                line.leave(t, now)
                holders.pop(t.nonce, None)
                admitted.append(t.key)
            elif op[0] == "prune":
                at = 100.0 + op[1]
                dropped = line.prune(at)
                gone = [n for n, h in holders.items() if h["expires"] < at]
                assert dropped == len(gone)
                for nonce in gone:
                    del holders[nonce]
            else:  # another process let some in and saw others more recently than this one did
                _, let_in, seen_again = op
                other = Packed(keys=sorted(ticket(p, now).key for p in set(seen_again)),
                               returned=[False] * len(set(seen_again)), seen=[now + 1] * len(set(seen_again)),
                               admitted=[ticket(p, now).key for p in let_in])
                line.absorb([other.encode()])
                # ... and a holder let in here who was turned away again with the same ticket leaves too
                gone = {ticket(p, now).key for p in (*let_in, *seen_again)} | set(admitted)
                holders = {n: h for n, h in holders.items() if h["key"] not in gone}
            assert Packed.decode(line.part()) == expected_part(holders, admitted)
