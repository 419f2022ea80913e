"""Every benchmark module imports, and `make bench` runs only modules that exist: a benchmark broken by a move
elsewhere fails only when someone runs it (bench.roster_import still imported `roster_chunks` from where it had
moved away on 2026-12-02, and `make bench` stopped at its second benchmark)."""
from __future__ import annotations

import importlib
import pkgutil

import pytest

import bench
from bench.run_all import BENCHMARKS, run_benchmark

MODULES = sorted(module.name for module in pkgutil.iter_modules(bench.__path__))


@pytest.mark.parametrize("name", MODULES)
def test_every_benchmark_module_imports(name):
    importlib.import_module(f"bench.{name}")


def test_make_bench_runs_benchmarks_that_exist_and_can_be_run():
    for name in BENCHMARKS:
        assert name.removeprefix("bench.") in MODULES
        assert callable(importlib.import_module(name).main)


def test_a_benchmark_that_does_not_import_is_one_failure_not_the_end_of_the_run(tmp_path, monkeypatch, capsys):
    (tmp_path / "broken_bench_module.py").write_text("from bench.run_all import no_such_name\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert run_benchmark("broken_bench_module") == "failed"
    assert "broken_bench_module: FAILED" in capsys.readouterr().out
    assert run_benchmark("bench.no_such_benchmark") == "skipped"
