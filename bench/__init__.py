"""Benchmarks: each module exposes main() and appends its figures to bench/results/<name>.md."""
