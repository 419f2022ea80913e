"""Run every benchmark in order, then chart their results: `make bench` (python -m bench.run_all).

Convention for benchmark modules (bench.password_hash, bench.roster_import, bench.edge_load):
- each exposes `main()`, runs bounded in time and count, and targets only this machine;
- each writes its human report to bench/results/<name>.md and, beside it, the same numbers as
  bench/results/<name>.json: one JSON object whose numeric values are plotted. A number becomes a
  bar, a list of numbers a line (e.g. {"p50_ms": 12.5, "rps_by_step": [100, 180, 240]}); nested
  objects are flattened with dots ("login.p99_ms"); anything else is ignored.
This runner imports each module if it exists (skips it otherwise), runs it, and renders every
results/*.json into bench/results/summary.png.
"""
from __future__ import annotations

import importlib
import json
import sys
import time
import traceback
from pathlib import Path

BENCHMARKS = ("bench.password_hash", "bench.roster_import", "bench.write_load", "bench.edge_load", "bench.limits",
              "bench.journey", "bench.soak", "bench.encryption_cost", "bench.idle_store", "bench.before_after",
              "bench.save_history", "bench.audit_pages")
RESULTS = Path(__file__).resolve().parent / "results"


def run_benchmark(module_name: str) -> str:
    """Import and run one benchmark; answer "ok", "skipped" or "failed"."""
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            print(f"[run_all] {module_name}: not present, skipped", flush=True)
            return "skipped"
        return _failed(module_name, 0.0)
    except Exception:  # a module that does not import is one broken benchmark too, not the end of the run
        return _failed(module_name, 0.0)
    print(f"[run_all] {module_name}: running", flush=True)
    started = time.monotonic()
    saved_argv = sys.argv
    sys.argv = [module_name]  # our own arguments are not the benchmark's
    try:
        module.main()
    except Exception:  # one broken benchmark must not hide the others' results
        return _failed(module_name, time.monotonic() - started)
    finally:
        sys.argv = saved_argv
    print(f"[run_all] {module_name}: done in {time.monotonic() - started:.1f}s", flush=True)
    return "ok"


def _failed(module_name: str, seconds: float) -> str:
    """Report the exception being handled as this benchmark's failure."""
    traceback.print_exc()
    print(f"[run_all] {module_name}: FAILED after {seconds:.1f}s", flush=True)
    return "failed"


def numeric_series(data: object, prefix: str = "") -> tuple[dict[str, float], dict[str, list[float]]]:
    """Split a results object into scalars (bars) and numeric lists (lines), flattening nested keys."""
    scalars: dict[str, float] = {}
    lines: dict[str, list[float]] = {}
    if not isinstance(data, dict):
        return scalars, lines
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float):
            scalars[name] = float(value)
        elif isinstance(value, list) and value and all(
                isinstance(v, int | float) and not isinstance(v, bool) for v in value):
            lines[name] = [float(v) for v in value]
        elif isinstance(value, dict):
            more_scalars, more_lines = numeric_series(value, f"{name}.")
            scalars.update(more_scalars)
            lines.update(more_lines)
    return scalars, lines


def load_results(results_dir: Path = RESULTS) -> dict[str, tuple[dict[str, float], dict[str, list[float]]]]:
    found = {}
    for path in sorted(results_dir.glob("*.json")):
        try:
            series = numeric_series(json.loads(path.read_text()))
        except (OSError, ValueError) as exc:
            print(f"[run_all] {path.name}: unreadable ({exc}), not charted", flush=True)
            continue
        if series[0] or series[1]:
            found[path.stem] = series
    return found


def render_chart(results: dict, out: Path) -> Path | None:
    """One row per results file: bars for its numbers, lines for its numeric lists."""
    if not results:
        print("[run_all] no numeric results to chart", flush=True)
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(results), 2, figsize=(14, 4 * len(results)), squeeze=False)
    for row, (name, (scalars, lines)) in enumerate(results.items()):
        bars, curves = axes[row]
        if scalars:
            bars.barh(list(scalars), list(scalars.values()), color="#3b6ea5")
            bars.invert_yaxis()
            bars.tick_params(axis="y", labelsize=8)
        else:
            bars.axis("off")
        bars.set_title(f"{name}: values")
        if lines:
            for label, values in lines.items():
                curves.plot(range(1, len(values) + 1), values, marker="o", label=label)
            curves.legend(fontsize=8)
            curves.grid(alpha=0.3)
        else:
            curves.axis("off")
        curves.set_title(f"{name}: series")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    print(f"[run_all] chart written to {out}", flush=True)
    return out


def main() -> int:
    outcomes = {name: run_benchmark(name) for name in BENCHMARKS}
    render_chart(load_results(), RESULTS / "summary.png")
    print("[run_all] " + ", ".join(f"{name}={outcome}" for name, outcome in outcomes.items()), flush=True)
    return 1 if "failed" in outcomes.values() else 0


if __name__ == "__main__":
    sys.exit(main())
