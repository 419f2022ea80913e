"""The write-path bench: its roster (enough never-seen PNS for every registration phase it runs) and what it reads
off the edge's /metrics."""
from __future__ import annotations

from bench.write_load import ACCOUNTS, FACTORS, FLOOD_CONNECTIONS, REPEATS, WriteBench, roster_rows, turn_aways


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


def test_the_edge_s_turn_aways_are_read_by_where_they_were_answered():
    text = "\n".join([
        '# TYPE pupns_edge_requests_total counter',
        'pupns_edge_requests_total{route="shed",status="503"} 3698.0',
        'pupns_edge_requests_total{route="/api/v1/auth/token",status="503"} 12.0',
        'pupns_edge_requests_total{route="/api/v1/auth/token",status="200"} 333.0',
        'pupns_edge_turned_away_total{cause="gate_full"} 10.0',
        'pupns_edge_turned_away_total{cause="kept_for_holders"} 2.0',
    ])
    assert turn_aways(text) == {"at_once": 3698.0, "gate_full": 10.0, "kept_for_holders": 2.0}
    assert turn_aways("") == {"at_once": 0.0}  # an edge that turned nobody away yet
