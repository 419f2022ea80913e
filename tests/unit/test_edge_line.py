"""The waiting line shared by edge processes: order across parts, liveness, the places kept for returning holders."""
from __future__ import annotations

from edge.surge.line import HEAD_EXACT, Line, Packed
from edge.surge.tickets import KEYS_PER_SECOND, Ticket


def tickets_at(*seconds: float, due: float = 10.0):
    return [Ticket(int(s * KEYS_PER_SECOND), f"n{s}", due) for s in seconds]


def test_places_count_every_process_part_in_issue_order():
    mine, theirs = Line(grace=3), Line(grace=3)
    a, b, c, d = tickets_at(100.0, 100.5, 101.0, 101.5)
    mine.wait(a, returned=False, now=100.0)
    theirs.wait(b, returned=False, now=100.0)
    mine.wait(c, returned=False, now=100.0)
    theirs.wait(d, returned=False, now=100.0)
    mine.absorb([theirs.part()])
    assert [mine.ahead(t) for t in (a, b, c, d)] == [0, 1, 2, 3]
    assert mine.waiting() == 4 and mine.processes == 2
    mine.leave(a, 100.0)
    assert mine.ahead(c) == 1 and mine.waiting() == 3


def test_holders_who_are_late_leave_and_a_refresh_keeps_the_place():
    line = Line(grace=3)
    a, b = tickets_at(100.0, 100.1, due=110.0)
    line.wait(a, returned=False, now=100.0)
    line.wait(b, returned=False, now=100.0)
    line.wait(b.come_back_at(120.0), returned=True, now=105.0)  # b came back and was told a later time
    assert line.prune(112.9) == 0
    assert line.prune(113.1) == 1  # a: due 110 + grace 3
    assert line.waiting() == 1 and line.ahead(b) == 0
    assert line.prune(123.1) == 1 and line.waiting() == 0


def test_only_holders_who_came_back_keep_places_free_at_the_head():
    mine, theirs = Line(grace=3), Line(grace=3)
    abandoned = tickets_at(*[100 + i / 10 for i in range(20)])
    for ticket in abandoned:
        theirs.wait(ticket, returned=False, now=100.0)
    live = tickets_at(99.0, 99.5)
    for ticket in live:
        mine.wait(ticket, returned=True, now=100.0)
    mine.absorb([theirs.part()])
    assert mine.returning_at_head(4) == 2
    assert mine.returning_at_head(1) == 1
    theirs.absorb([])
    assert theirs.returning_at_head(10) == 0  # a crowd of abandoned tabs keeps nothing free


def test_far_back_places_are_shared_as_counts_and_still_add_up():
    mine, theirs = Line(grace=3), Line(grace=3)
    crowd = tickets_at(*[100 + i / 1000 for i in range(HEAD_EXACT + 500)])
    for ticket in crowd:
        theirs.wait(ticket, returned=False, now=100.0)
    part = theirs.part()
    packed = Packed.decode(part)
    assert len(packed.keys) == HEAD_EXACT and sum(packed.waiting) == 500
    # the store gets a handful of packed byte strings, not a BSON array per place: ~17 bytes per exact place
    assert all(isinstance(value, bytes) for value in part.values())
    assert sum(map(len, part.values())) < 18 * HEAD_EXACT + 16 * len(packed.buckets) + 1
    mine.absorb([part])
    assert mine.waiting() == HEAD_EXACT + 500
    assert [mine.ahead(t) for t in crowd[:HEAD_EXACT]] == list(range(HEAD_EXACT))  # exact where order decides
    last = tickets_at(200.0)[0]
    assert mine.ahead(last) == HEAD_EXACT + 500


def test_a_holder_let_in_or_seen_again_elsewhere_is_counted_once():
    one, two = Line(grace=3), Line(grace=3)
    a, b, c = tickets_at(100.0, 100.1, 100.2, due=110.0)
    for ticket in (a, b, c):
        one.wait(ticket, returned=False, now=100.0)
    two.wait(b.come_back_at(111.0), returned=True, now=106.0)  # b came back to the other process
    two.wait(a.come_back_at(111.0), returned=True, now=106.0)
    two.leave(a, 111.5)  # ... and a was let in there
    one.absorb([two.part()])
    two.absorb([one.part()])
    assert one.waiting() == two.waiting() == 2  # b once, c once; a nowhere
    assert one.ahead(c) == two.ahead(c) == 1
    assert one.returning_at_head(2) == two.returning_at_head(2) == 1


def test_processes_issuing_in_the_same_microsecond_get_places_of_their_own():
    """Two edge workers each issue a ticket at the same instant: the keys differ (each process's tag), so the line
    counts two places and letting one holder in does not take the other's place."""
    import multiprocessing

    from edge.surge import tickets

    now = 1_800_000_000.123456
    context = multiprocessing.get_context("fork")
    issued = context.Queue()
    workers = [context.Process(target=_issue_two, args=(now, issued)) for _ in range(2)]  # as gunicorn forks
    for worker in workers:
        worker.start()
    keys = [key for _ in workers for key in issued.get(timeout=30)]
    for worker in workers:
        worker.join(timeout=30)
    microsecond = int(now * 1_000_000) * 1000
    firsts, seconds = keys[0::2], keys[1::2]
    assert all(microsecond <= key < microsecond + 1000 for key in firsts)  # the issue time, then the tag
    assert [b - a for a, b in zip(firsts, seconds, strict=True)] == [1000, 1000]  # later in one process: behind
    assert firsts[0] != firsts[1] or len({key % 1000 for key in keys}) == 1  # 1 in 1000: both drew the same tag
    mine, theirs = Line(grace=3), Line(grace=3)
    a = tickets.Ticket(keys[0], "a", due=now + 10)
    b = tickets.Ticket(keys[0] + 1, "b", due=now + 10)  # the same microsecond, another tag
    mine.wait(a, returned=False, now=now)
    theirs.wait(b, returned=False, now=now)
    theirs.leave(b, now)
    mine.absorb([theirs.part()])
    assert mine.waiting() == 1 and mine.ahead(a) == 0


def _issue_two(now: float, issued) -> None:
    from edge.surge import tickets

    issued.put([tickets.new_ticket(now, now + 10).key, tickets.new_ticket(now, now + 10).key])


def test_a_ticket_issued_before_the_tag_keeps_its_place_in_time():
    from edge.surge import tickets

    now = 1_800_000_000.0
    old = tickets.sign(tickets.Ticket(int(now * 1_000_000), "old", now + 10))
    ticket = tickets.verify(old, ttl=3600, now=now + 5)
    assert ticket is not None and tickets.issued_at(ticket.key) == now


def test_a_part_of_another_shape_counts_as_empty_and_breaks_nothing():
    mine = Line(grace=3)
    (a,) = tickets_at(100.0)
    mine.wait(a, returned=False, now=100.0)
    mine.absorb([{"h": [[1, 0, 100.0]], "r": [], "a": []}, {"k": b"\x01", "s": b""}])  # older version; torn
    assert mine.waiting() == 1 and mine.processes == 3 and mine.ahead(a) == 0
