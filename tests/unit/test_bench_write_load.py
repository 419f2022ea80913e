"""The write-path bench's roster: enough never-seen PNS for every registration phase it runs."""
from __future__ import annotations

from bench.write_load import ACCOUNTS, FACTORS, FLOOD_CONNECTIONS, REPEATS, WriteBench, roster_rows


def test_the_roster_covers_every_registration_phase_at_the_hashing_limit(tmp_path, capsys):
    limit, seconds = 46.9, 8.0
    bench = WriteBench.__new__(WriteBench)  # only its roster bookkeeping, no platform
    bench.rows = [(f"nip{n}", f"nik{n}", "A1") for n in range(roster_rows(limit, seconds))]
    bench.next_row, bench.var, bench.inputs = ACCOUNTS, tmp_path, {}
    closed_loops = [(None, conns) for conns in (2, 4, 8)] + [(None, 8)] * REPEATS
    floods = [(factor * limit, FLOOD_CONNECTIONS["register"]) for factor in (*FACTORS, *[10] * REPEATS)]
    for rate, conns in closed_loops + floods:
        bench.input_for("register", rate, seconds, conns)
    assert "warning" not in capsys.readouterr().out
    assert bench.next_row <= len(bench.rows)
    # and one phase more than the bench runs would not fit: the roster is sized, not merely large
    bench.input_for("register", 10 * limit, seconds, FLOOD_CONNECTIONS["register"])
    assert "only" in capsys.readouterr().out
