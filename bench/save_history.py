"""Does a section save cost more as a form's history grows? Passes of saves on the same forms, before and after.

Every pass is a closed loop of 8 clients saving `data_utama` of the same 240 confirmed PNS for `seconds`; each pass
adds ~6-8 events to every form's stream. Run for the platform at a base commit (a `git worktree` of it first on the
services' PYTHONPATH, as bench.before_after does) and for this tree, one after the other on the same machine: saves/s,
forms' and the stores' CPU per save, and the store's time per save in `pupns_forms.events`, pass by pass. Before
snapshots (pupns.snapshots) every save read its form's whole stream.
Writes bench/results/save_history.{md,json,png}. Usage: python -m bench.save_history [--base REV] [--passes 8]
[--seconds 8] (about 2 x (1.5 min set-up + passes x seconds)).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path

from bench import placement, write_load
from bench.before_after import RESULTS, ROOT
from bench.edge_load import Bench
from bench.edge_report import machine_facts

# The commit before forms' snapshots.
DEFAULT_BASE = "bc5aaba"
CLIENTS = 8


def passes(tree: Path | None, count: int, seconds: float, label: str) -> list[dict]:
    """`count` closed-loop passes of saves on one platform (from `tree`, None: this tree)."""
    from pupns_dev.demo import seed_demo
    from pupns_dev.stack import Stack, delete_vhost

    var = Path(tempfile.mkdtemp(prefix="save-history-"))
    cfg = write_load.stack_config(var, code_root=tree)
    stack = Stack(cfg)
    print(f"[{label}] starting the platform{' from ' + str(tree) if tree else ''}...", flush=True)
    stack.start(progress=lambda m: None)
    try:
        demo = seed_demo(cfg, roster_size=2000, seed=9, progress=lambda m: None)
        bench = Bench(stack, "-", {})
        run = write_load.WriteBench(stack, demo, var, bench, "shared")
        run.prepare_accounts()
        bench.restart_edge("2", "8", "shared", adaptive=False)
        found = []
        for n in range(count):
            phase = run.phase("save", None, seconds, CLIENTS, f"{label}: pass {n + 1}")
            found.append({"pass": n + 1, "saves_per_s": phase["goodput_rps"],
                          "forms_cpu_ms": phase["cpu_ms_per_op"]["forms"],
                          "stores_cpu_ms": phase["cpu_ms_per_op"]["secantus"],
                          "events_store_ms": phase["store_ms_per_op"].get("pupns_forms.events"),
                          "store_ms": phase["store_ms_per_op"]["all"], "answers": phase["counts"]})
        return found
    finally:
        stack.stop()
        delete_vhost(cfg.vhost)


def report(facts: dict, sides: dict[str, list[dict]]) -> str:
    lines = [f"# Saves as a form's history grows — {facts['date']}", "",
             f"Machine: {facts['nproc']} vCPU {facts['cpu']}, Python {facts['python']}. The platform as `make run` "
             f"starts it, the client on the same cores; each pass is a closed loop of {CLIENTS} clients saving "
             "`data_utama` of the same 240 PNS for "
             f"{facts['seconds_per_pass']} s (each pass adds ~6-8 events to every form). `before` is the platform at "
             f"`{facts['base']}` (every save read the form's whole stream), `after` this tree (a snapshot every "
             "10 events, pupns.snapshots).", "",
             "| side | pass | saves/s | forms CPU-ms / save | stores CPU-ms / save | store ms / save in forms.events | "
             "store ms / save, all |", "|---|---|---|---|---|---|---|"]
    for side, found in sides.items():
        for p in found:
            lines.append(f"| {side} | {p['pass']} | {p['saves_per_s']} | {p['forms_cpu_ms']} | {p['stores_cpu_ms']} "
                         f"| {p['events_store_ms']} | {p['store_ms']} |")
    for side, found in sides.items():
        first, last = found[0]["saves_per_s"], found[-1]["saves_per_s"]
        lines += ["", f"{side}: last pass / first pass = {100 * last / first:.0f} % of the saves/s"]
    return "\n".join(lines) + "\n"


def chart(sides: dict[str, list[dict]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for side, found in sides.items():
        runs = [p["pass"] for p in found]
        axes[0].plot(runs, [p["saves_per_s"] for p in found], marker="o", label=side)
        axes[1].plot(runs, [p["events_store_ms"] for p in found], marker="o", label=side)
    for ax, title in zip(axes, ("saves/s (closed loop, 8 clients)", "store ms per save in forms.events"),
                         strict=True):
        ax.set_title(title)
        ax.set_xlabel("pass over the same 240 forms")
        ax.set_ylim(bottom=0)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def main(argv: list[str] | None = None) -> None:
    args = argparse.ArgumentParser()
    args.add_argument("--base", default=DEFAULT_BASE)
    args.add_argument("--passes", type=int, default=8)
    args.add_argument("--seconds", type=float, default=8.0)
    opts = args.parse_args(argv or [])
    tree = Path(tempfile.mkdtemp(prefix="save-history-base-")) / "tree"
    subprocess.run(["git", "worktree", "add", "--detach", str(tree), opts.base], cwd=ROOT, check=True,
                   capture_output=True)
    try:
        sides = {"before": passes(tree, opts.passes, opts.seconds, "before"),
                 "after": passes(None, opts.passes, opts.seconds, "after")}
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, capture_output=True)
    everywhere = placement.all_cpus()
    facts = {**machine_facts(opts.seconds, argparse.Namespace(back_cpus=everywhere, front_cpus=everywhere)),
             "seconds_per_pass": opts.seconds, "base": opts.base}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "save_history.json").write_text(json.dumps({"machine": facts, "sides": sides}, indent=1))
    (RESULTS / "save_history.md").write_text(report(facts, sides))
    chart(sides, RESULTS / "save_history.png")
    print((RESULTS / "save_history.md").read_text(), flush=True)


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
