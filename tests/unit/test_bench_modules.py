"""Every benchmark module imports, and `make bench` runs only modules that exist: a benchmark broken by a move
elsewhere fails only when someone runs it (bench.roster_import still imported `roster_chunks` from where it had
moved away, and `make bench` stopped at its second benchmark for ten days)."""
from __future__ import annotations

import importlib
import pkgutil

import pytest

import bench
from bench.run_all import BENCHMARKS

MODULES = sorted(module.name for module in pkgutil.iter_modules(bench.__path__))


@pytest.mark.parametrize("name", MODULES)
def test_every_benchmark_module_imports(name):
    importlib.import_module(f"bench.{name}")


def test_make_bench_runs_benchmarks_that_exist_and_can_be_run():
    for name in BENCHMARKS:
        assert name.removeprefix("bench.") in MODULES
        assert callable(importlib.import_module(name).main)
