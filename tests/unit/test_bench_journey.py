"""The journey bench's pure arithmetic: percentiles, per-step figures, CPU per journey, floors, capacity."""
from __future__ import annotations

import pytest

from bench import journey, journey_report, soak
from bench.journey_report import capacity_plan, cpu_per_journey, irreducible, pct, phase_summary, saturation, worst_day


def step(latency: float, waits: int = 0, codes: dict | None = None, elapsed: float | None = None) -> dict:
    return {"latency": latency, "elapsed": elapsed or latency, "waits": waits, "codes": codes or {}, "done": 1.0}


def record(start: float, end: float, steps: dict, ok: bool = True, failed_at: str | None = None) -> dict:
    found = {"nip": "1", "due": start, "start": start, "end": end, "steps": steps, "ok": ok}
    if failed_at:
        found["failed_at"] = failed_at
    return found


def test_pct_is_the_nearest_rank_in_ms_and_none_without_values():
    values = [i / 1000 for i in range(1, 101)]  # 1..100 ms
    assert pct(values, 0.5) == 51.0
    assert pct(values, 0.99) == 100.0
    assert pct([0.25], 0.99) == 250.0
    assert pct([], 0.5) is None


def test_phase_summary_counts_waits_apart_from_errors_and_names_where_journeys_failed():
    records = [
        record(0.0, 2.0, {"register": step(0.1), "confirm": step(0.05, waits=2, codes={"404": 2}, elapsed=0.4)}),
        record(1.0, 4.0, {"register": step(0.3, codes={"503": 1}), "confirm": step(0.07)}),
        record(2.0, 3.0, {"register": {"failed": True, "waits": 0, "codes": {"422": 1}, "detail": "x"}},
               ok=False, failed_at="register"),
    ]
    summary = phase_summary(records, rate=1.0, seconds=3.0, window=4.0, steps=("register", "confirm"))
    assert (summary["started"], summary["completed"], summary["journeys_per_s"]) == (3, 2, 0.5)
    assert summary["failed_at"] == {"register": 1}
    register, confirm = summary["steps"]["register"], summary["steps"]["confirm"]
    assert (register["completed"], register["failed"], register["errors"], register["waits"]) == (2, 1, 2, 0)
    assert register["answers"] == {"503": 1, "422": 1}
    assert (confirm["errors"], confirm["waits"], confirm["elapsed_p99_ms"]) == (0, 2, 400.0)
    assert summary["journey_p50_s"] == 3.0  # nearest rank of [2.0, 3.0]


def test_cpu_per_journey_subtracts_idle_use_and_totals_only_platform_components():
    before = {"identity": 10.0, "store": 20.0, "client": 5.0}
    after = {"identity": 12.0, "store": 21.0, "client": 9.0}
    idle = {"identity": 0.01, "store": 0.2, "client": 0.0}
    cpu = cpu_per_journey(before, after, idle, window=10.0, completed=4)
    assert cpu["identity"] == {"gross_ms": 500.0, "net_ms": 475.0, "cores": 0.2}
    assert cpu["store"]["net_ms"] == 0.0  # idle use larger than what was spent: never negative
    assert cpu["client"]["gross_ms"] == 1000.0
    assert cpu["total"] == {"net_ms": 475.0, "cores": 0.3}  # the client is not the platform


def test_cpu_per_journey_without_completed_journeys_has_no_per_journey_figure():
    cpu = cpu_per_journey({"edge": 1.0}, {"edge": 2.0}, {}, window=2.0, completed=0)
    assert cpu["edge"]["net_ms"] is None and cpu["edge"]["cores"] == 0.5
    assert cpu["total"]["net_ms"] is None


def test_irreducible_sums_each_steps_parts_from_the_limits():
    limits = {key: {"p50_ms": ms} for key, ms in (("http_floor", 1.0), ("rpc_echo", 2.0), ("hash", 50.0),
                                                   ("raw_insert", 3.0), ("raw_read", 0.5), ("rpc_echo_200k", 6.0),
                                                   ("raw_insert_200k", 4.0))}
    floors = irreducible(limits)
    assert floors["register"]["ms"] == 56.0
    assert floors["status"] == {"parts": "http + 2x rpc + 2x read", "ms": 6.0}
    assert floors["upload"]["ms"] == 11.0
    assert set(floors) == set(journey_report.PARTS)


def test_worst_day_spreads_the_rush_over_its_days_and_peak_hour():
    day = worst_day(population=4.5e6, rush_share=0.4, rush_days=3, peak_hour_share=0.1)
    assert day == {"journeys_per_day": 600_000, "peak_hour": 60_000, "per_s": 16.7}


def test_capacity_plan_gives_cores_at_the_target_utilisation_and_one_core_replicas():
    plan = capacity_plan({"identity": 240.0, "forms": 30.0, "edge": 150.0, "store": 60.0}, rate=10.0,
                         utilisation=0.6)
    assert plan["identity"] == {"cores": 4.0, "replicas": 4}
    assert plan["forms"] == {"cores": 0.5, "replicas": 1}
    assert plan["edge"] == {"cores": 2.5, "replicas": 2}  # two cores per edge pod
    assert plan["store"] == {"cores": 1.0, "replicas": None}  # a primary, not replicas of the same pod
    assert plan["total"] == {"cores": 8.0}


def test_saturation_lists_the_first_component_to_fill_a_core_first():
    assert saturation({"edge": 50.0, "store": 250.0, "idle": 0.0}) == [("store", 4.0), ("edge", 20.0)]


def test_pause_backs_off_polls_and_honours_retry_after():
    class Answer:
        headers = {"Retry-After": "3"}

    assert journey.pause(None, 1, waiting=True) == pytest.approx(0.1)
    assert journey.pause(None, 10, waiting=True) == 1.0
    assert journey.pause(Answer(), 1, waiting=False) == 3.0
    assert journey.pause(None, 2, waiting=False) == 1.0


def test_section_values_saves_four_sections_from_the_prefilled_form():
    row = {"nip": "198001012005011001", "pendidikan_tingkat": "S1", "pendidikan_nama": "UI", "tahun_lulus": "2002"}
    sections = {"data_utama": {"nama": "A"}, "data_posisi": {"jabatan": "Analis"}, "riwayat_pendidikan": []}
    values = dict(journey.section_values(sections, row))
    assert list(values) == list(journey.SAVED_SECTIONS)
    assert values["riwayat_pendidikan"] == [{"tingkat": "S1", "nama_sekolah": "UI", "tahun_lulus": 2002,
                                             "nomor_ijazah": "IJ-011001"}]
    assert len(values["data_stakeholder"]["bpjs_kesehatan_nomor"]) == 13
    assert values["data_utama"]["nama"] == "A" and values["data_utama"]["no_hp"].startswith("08")


def test_soak_growth_and_buckets():
    assert soak.growth([500.0, 100.0, 100.0, 110.0, 120.0], points=2) == 15.0  # the first sample is warm-up
    assert soak.growth([1.0, 2.0], points=2) is None
    records = [record(0.0, 5.0, {}), record(1.0, 12.0, {}), record(2.0, 13.0, {}, ok=False)]
    found = soak.buckets(records, seconds=10.0)
    assert [b["completed"] for b in found] == [1, 1, 0]
    assert found[0]["p50_s"] == 5.0 and found[2]["p99_s"] is None


def test_stack_share_counts_samples_whose_stack_holds_the_frame():
    raw = "main;handle;wiredtiger/cursor.py 30\nmain;decode 60\nmain;wiredtiger/commit 10\nnot a sample\n"
    assert journey_report.stack_share(raw, "wiredtiger") == 40.0
    assert journey_report.stack_share("", "wiredtiger") == 0.0


def test_store_floor_counts_every_step_once_and_each_of_the_four_saves():
    assert journey_report.store_floor() == {"insert": 9, "read": 11}
    assert journey_report.STORE_FLOOR == 20
    limits = {"raw_insert": {"server_cpu_ms": 2.0}, "raw_read": {"server_cpu_ms": 0.5}}
    assert journey_report.store_cpu_floor(limits) == 23.5
    assert journey_report.store_cpu_floor({}) is None


def test_soak_takes_its_capacity_from_a_measured_journey_run_only(tmp_path):
    path = tmp_path / "journey.json"
    path.write_text('{"smoke": false, "phases": [{"journeys_per_s": 1.9}, {"journeys_per_s": 2.4}]}')
    assert soak.capacity_from_last_run(path) == 2.4
    path.write_text('{"smoke": true, "phases": [{"journeys_per_s": 0.4}]}')
    assert soak.capacity_from_last_run(path) is None
    assert soak.capacity_from_last_run(tmp_path / "missing.json") is None


def test_cpu_floor_counts_a_journeys_hashes_rpcs_http_requests_and_store_operations():
    limits = {"hash": {"p50_ms": 50.0}, "rpc_echo": {"server_cpu_ms": 1.0}, "http_floor": {"server_cpu_ms": 0.5},
              "raw_insert": {"server_cpu_ms": 2.0}, "raw_read": {"server_cpu_ms": 0.5}}
    floor = journey_report.cpu_floor(limits)
    assert floor["counts"] == {"hash": 2, "rpc": 13, "http": 12, "store": 20}
    assert (floor["hash"], floor["rpc"], floor["http"], floor["store"]) == (100.0, 13.0, 6.0, 23.5)
    assert floor["total"] == 142.5
    assert journey_report.cpu_floor({"hash": {"p50_ms": 50.0}})["rpc"] is None


def test_every_store_process_counts_as_the_store(monkeypatch):
    class Proc:
        def __init__(self, pid: int):
            self.pid = pid

    stack = type("FakeStack", (), {"procs": [("secantus", Proc(1)), ("secantus-forms", Proc(2)),
                                             ("identity", Proc(3)), ("identity-2", Proc(4)), ("smtp", Proc(5))]})()
    monkeypatch.setattr(journey.placement, "descendants", lambda pid: [pid])
    monkeypatch.setattr(journey.placement, "broker_pids", lambda: [9])
    assert journey.components(stack) == {"store": [1, 2], "identity": [3, 4], "helpers": [5], "broker": [9]}
