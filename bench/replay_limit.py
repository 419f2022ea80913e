"""The replay limit of bench.limits: pupns.replay.rebuild with a trivial projector against a raw read of the same
events in position order, at the seeded size and at REPLAY_SCALE times it (issue 15 item 2: >= 50 %)."""
from __future__ import annotations

import statistics
import time

from bench.limits import event_doc

REPLAY_SCALE = 4  # the replay is measured again with this many times the events: a share falling with size shows
REPLAY_ROUNDS = 3  # raw read and replay alternate; the median of each (the shared machine's speed drifts)


class TrivialProjector:
    """Counts what it is given: replay's cost without any read model's."""

    collections = ("bench_replay_sink",)

    def __init__(self) -> None:
        self.seen = 0

    def apply(self, docs: list[dict], session) -> None:
        self.seen += len(docs)


def seed_events(store, first: int, stop: int) -> None:
    """Events first..stop-1 appended in bulk, 500 new streams per append (a section save's data each)."""
    from pupns.eventstore import NewEvent, StreamAppend

    for start in range(first, stop, 500):
        parts = [StreamAppend(f"seed-{i}", 0, [NewEvent("SectionSaved", event_doc(i)["data"])], f"1980{i:014d}")
                 for i in range(start, min(stop, start + 500))]
        store.append_many(parts, {"actor": {"id": "bench"}})


def replay_at_size(store) -> dict:
    """A raw read of every event in position order and rebuild() of the same log, alternated REPLAY_ROUNDS times:
    {events, raw_per_s, replay_per_s, share} (medians)."""
    from pupns.replay import rebuild

    total, raw, replay = store.count(), [], []
    for _ in range(REPLAY_ROUNDS):
        started = time.perf_counter()
        read = sum(1 for _ in store.events.find({}).sort("position", 1).batch_size(1000))
        raw.append(read / (time.perf_counter() - started))
        projector = TrivialProjector()
        started = time.perf_counter()
        replayed = rebuild(store, projector)
        replay.append(replayed / (time.perf_counter() - started))
        assert read == replayed == projector.seen == total, (read, replayed, projector.seen, total)
    raw_per_s, replay_per_s = statistics.median(raw), statistics.median(replay)
    return {"events": total, "raw_per_s": round(raw_per_s, 1), "replay_per_s": round(replay_per_s, 1),
            "share": round(replay_per_s / raw_per_s, 3)}


def measure_replay(store, events: int) -> dict:
    """Seed `events` more events in bulk and measure replay against a raw read; then grow the log to REPLAY_SCALE
    times its size and measure again."""
    seed_events(store, 0, events)
    sizes = [replay_at_size(store)]
    grow = (REPLAY_SCALE - 1) * sizes[0]["events"]
    seed_events(store, events, events + grow)
    sizes.append(replay_at_size(store))
    first = sizes[0]
    return {"raw_scan": {"events": first["events"], "per_s": first["raw_per_s"]},
            "replay": {"events": first["events"], "per_s": first["replay_per_s"]}, "replay_sizes": sizes}


def replay_lines(limits: dict) -> list[str]:
    """One line per log size (older results have only the first size)."""
    if "replay_sizes" not in limits:
        return [f"Replay of {limits['replay']['events']} events: {limits['replay']['per_s']}/s through "
                f"pupns.replay.rebuild (trivial projector) vs {limits['raw_scan']['per_s']}/s raw read in position "
                "order."]
    return [f"Replay of {size['events']} events: {size['replay_per_s']}/s through pupns.replay.rebuild (trivial "
            f"projector) vs {size['raw_per_s']}/s raw read in position order ({100 * size['share']:.0f} %; medians "
            f"of {REPLAY_ROUNDS} alternated rounds)." for size in limits["replay_sizes"]]
