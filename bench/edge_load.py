"""Edge load bench: read-path capacity of the real stack, then goodput when offered up to 10x that.

Starts the whole platform (pupns_dev.stack, fresh vhost, in-memory SecantusDB), seeds a small demo roster,
registers and confirms one PNS, then drives GET /api/v1/me with that PNS's token from a separate process
(bench.loadgen: open loop, ignores Retry-After). Each curve is measured in two CPU placements:

- `shared`: every process (load generator, edge, broker, store, services) competes for every core;
- `isolated`: the back end (services, SecantusDB, RabbitMQ, console) on half the cores, the edge and the
  load generator on the other half: the production topology, where edge replicas have their own nodes
  and the CPU they spend turning a surge away is not taken from the back end.

A verifier uses the console during every capacity and overload phase. The 10x phase runs REPEATS times
per curve, each run right after a capacity measurement of its own (the VM's speed drifts), and the headline
takes the median of the per-run ratios. Then gunicorn shapes (workers x threads) are compared at 10x
in the isolated placement, each run paired the same way. Writes
bench/results/edge_load.{md,json,png}. Usage: python -m bench.edge_load [seconds-per-phase] (~10 minutes).
"""
from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench import edge_report, placement
from bench.console_probe import ConsoleProbe

DEFAULT_SHAPE = ("2", "8")
SHAPES = (("1", "12"), ("2", "8"), ("2", "16"))
REPEATS = 3  # 10x runs per curve and per shape: this VM's run-to-run noise is larger than most differences
PASSWORD = "bench-rahasia-2015"
# The edge's admission limit: initial, floor and ceiling (pinned together, the limit cannot move).
EDGE_LIMIT_VARS = ("PUPNS_EDGE_CAPACITY", "PUPNS_EDGE_CAPACITY_MIN", "PUPNS_EDGE_CAPACITY_MAX")


def edge_cpu(master: int) -> float:
    """CPU seconds used so far by the edge's gunicorn workers (children of the master)."""
    total = 0.0
    for pid in placement.descendants(master)[1:]:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


class Bench:
    """One running platform, one PNS token, and where each side of it may run."""

    def __init__(self, stack, token: str, verifier: dict) -> None:
        self.stack, self.token, self.port, self.verifier = stack, token, stack.cfg.edge_port, verifier
        self.back_cpus, self.front_cpus = placement.halves()
        self.client_cpus = placement.all_cpus()

    @property
    def master(self) -> int:
        return self.stack.process("edge").pid

    def place(self, name: str) -> None:
        """Pin the platform's processes and the broker for placement `name`."""
        everything = placement.all_cpus()
        isolated = name == "isolated"
        for proc_name, proc in self.stack.procs:
            front = proc_name == "edge"
            placement.pin_tree(proc.pid, (self.front_cpus if front else self.back_cpus) if isolated else everything)
        placement.pin_broker(self.back_cpus if isolated else everything)
        self.client_cpus = self.front_cpus if isolated else everything

    def restart_edge(self, workers: str, threads: str, placement_name: str, adaptive: bool = True) -> None:
        """A fresh edge with this shape, placed and warmed up. `adaptive=False` takes admission control out of the
        way: the limit is pinned at every thread of a worker, so a closed loop of up to that many clients is never
        turned away, however its connections land on the workers (at the default ceiling, a quarter of the threads
        below, 7 of 8 connections landing on one worker had the eighth client turned away ~1,900 times a second)."""
        env = self.stack.cfg.extra_env
        env.update(PUPNS_EDGE_WORKERS=workers, PUPNS_EDGE_THREADS=threads)
        for name in EDGE_LIMIT_VARS:
            env.pop(name, None)
            if not adaptive:
                env[name] = threads
        self.stack.restart("edge")
        self.place(placement_name)
        self.phase(None, 3, 8)  # start every thread's RPC proxy before measuring

    def phase(self, rate: float | None, seconds: float, conns: int, port: int | None = None,
              master: int | None = None) -> dict:
        """One load-generator run against the edge (or another gunicorn master's `port`)."""
        port, master = port or self.port, master or self.master
        argv = [sys.executable, "-m", "bench.loadgen", str(port), self.token, str(rate or 0), str(seconds),
                str(conns)]
        cpus = self.client_cpus
        before, started = edge_cpu(master), time.monotonic()
        out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=True,
                             cwd=edge_report.ROOT, preexec_fn=lambda: os.sched_setaffinity(0, cpus))
        result = json.loads(out.stdout.strip().splitlines()[-1])
        return {**result, "edge_cpu_share": round((edge_cpu(master) - before) / (time.monotonic() - started), 2)}

    def floor(self, rate: float, seconds: float, shape: tuple[str, str], label: str) -> dict:
        """The same open loop against bench.floor_app under the same gunicorn workers and cores (the floor app
        answers on the event loop: the shape's threads do not apply to it)."""
        from pupns_dev.processes import free_port, stop, wait_for_port

        port = free_port()
        argv = [str(Path(sys.executable).parent / "gunicorn"), "-k", "edge.http.worker.EdgeWorker", "-w", shape[0],
                "--keep-alive", "5", "-b", f"127.0.0.1:{port}", "bench.floor_app:asgi"]
        proc = subprocess.Popen(argv, cwd=edge_report.ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True,
                                preexec_fn=lambda: os.sched_setaffinity(0, self.client_cpus))
        try:
            wait_for_port(port, timeout=30)
            self.phase(None, 2, 8, port, proc.pid)  # let every worker start
            result = {"phase": f"{label}: gunicorn floor (constant 503), same rate", "factor": "floor",
                      **self.phase(rate, seconds, 1000, port, proc.pid)}
        finally:
            stop(proc)
        print(result, flush=True)
        return result

    def capacity(self, seconds: float, label: str, shape: tuple[str, str], where: str,
                 clients: tuple[int, ...] = (4, 8, 16)) -> tuple[float, list[dict]]:
        """The most 2xx/s the platform finishes with admission control out of the way (limit at its ceiling,
        closed loops of `clients` clients): what "capacity" means in this report."""
        self.restart_edge(*shape, where, adaptive=False)
        phases = []
        for conns in clients:
            phases.append({"phase": f"{label}: capacity, closed loop {conns} clients",
                           **self.with_console(None, seconds, conns)})
            print(phases[-1], flush=True)
        self.restart_edge(*shape, where)  # the overload phases run with the adaptive limit, learnt afresh
        return max(p["goodput_rps"] for p in phases), phases

    def paired_ten(self, seconds: float, label: str, shape: tuple[str, str], where: str, clients: int,
                   run: int) -> list[dict]:
        """Capacity measured again right before one 10x run, which is then offered 10x that figure: this VM's
        speed drifts by minutes, so each run's share is a ratio of two measurements taken together."""
        capacity, measured = self.capacity(seconds, f"{label} (run {run + 1})", shape, where, (clients,))
        ten = self.overload(capacity, 10, seconds, label, run)
        return [*measured, {**ten, "capacity_rps": capacity}]

    def with_console(self, rate: float | None, seconds: float, conns: int) -> dict:
        """One load-generator run while a verifier uses the console (so capacity and overload phases ask the
        back end for the same verifier work)."""
        cfg = self.stack.cfg
        probe = ConsoleProbe(cfg.edge_url, cfg.console_url, self.verifier)
        probe.start()
        try:
            measured = self.phase(rate, seconds, conns)
        finally:
            console = probe.stop()
        return {**measured, **console}

    def overload(self, capacity: float, factor: int, seconds: float, label: str, run: int = 0) -> dict:
        """Open loop at `factor` x capacity while a verifier uses the console."""
        result = {"phase": f"{label}: {factor}x capacity, open loop" + (f" (run {run + 1})" if run else ""),
                  "factor": factor, **self.with_console(round(capacity * factor), seconds, 1000)}
        print(result, flush=True)
        return result


def pns_token(cfg, demo) -> tuple[str, dict]:
    """A confirmed PNS's token, and the verifier who confirmed them."""
    import csv

    import requests

    from pupns_dev.waiting import wait_until

    api = cfg.edge_url + "/api/v1"
    with demo["roster"].open(newline="", encoding="utf-8") as fh:
        row = next(csv.DictReader(fh))
    nip, verifier = row["nip"], demo["verifiers"][row["instansi_kode"]]
    requests.post(f"{api}/registrations", json={"nip": nip, "nik": row["nik"], "email": f"{nip}@contoh.go.id",
                                                "password": PASSWORD}, timeout=30).raise_for_status()
    vtoken = requests.post(f"{api}/auth/token", json={"username": verifier["username"],
                                                      "password": verifier["password"]}, timeout=30).json()
    auth = {"Authorization": f"Bearer {vtoken['access_token']}"}
    wait_until(lambda: requests.post(f"{api}/verifier/registrations/{nip}/confirm", headers=auth, timeout=30).ok,
               timeout=60, interval=0.3, message="registration confirmed")
    token = wait_until(lambda: (r := requests.post(f"{api}/auth/token", json={"username": nip, "password": PASSWORD},
                                                   timeout=30)).ok and r.json()["access_token"],
                       timeout=60, interval=0.3, message="PNS can log in")
    return token, verifier


def best_clients(phases: list[dict]) -> int:
    """How many closed-loop clients gave the most goodput in a capacity sweep (other phases are ignored)."""
    best = max((p for p in phases if "closed loop" in p["phase"]), key=lambda p: p["goodput_rps"])
    return int(best["phase"].rsplit("loop ", 1)[1].split()[0])


def curves(bench: Bench, seconds: float) -> tuple[dict, list[dict]]:
    """In each placement with the default shape: a capacity sweep and 1/2/5x, then REPEATS 10x runs each
    paired with its own capacity figure. Then the shapes, isolated, each 10x run paired the same way,
    interleaved round by round so drifts of the machine hit each alike."""
    headlines, phases = {}, []
    for name in ("shared", "isolated"):
        capacity, measured = bench.capacity(seconds, name, DEFAULT_SHAPE, name)
        clients = best_clients(measured)
        measured += [bench.overload(capacity, f, seconds, name) for f in (1, 2, 5)]
        for run in range(REPEATS):
            measured += bench.paired_ten(seconds, name, DEFAULT_SHAPE, name, clients, run)
        measured.append(bench.floor(round(capacity * 10), seconds, DEFAULT_SHAPE, name))
        headlines[name] = edge_report.headline(capacity, measured)
        phases += [{**p, "placement": name, "shape": "x".join(DEFAULT_SHAPE)} for p in measured]
    clients = best_clients([p for p in phases if p["placement"] == "isolated"])
    by_shape: dict[tuple[str, str], list[dict]] = {shape: [] for shape in SHAPES}
    for run in range(REPEATS):
        for shape in SHAPES:
            label = f"isolated {shape[0]}x{shape[1]}"
            by_shape[shape] += bench.paired_ten(seconds, label, shape, "isolated", clients, run)
    for shape, measured in by_shape.items():
        capacity = edge_report.median([p["capacity_rps"] for p in measured if p.get("factor") == 10])
        headlines[f"shape {shape[0]}x{shape[1]}"] = edge_report.headline(capacity, measured)
        phases += [{**p, "placement": "isolated", "shape": "x".join(shape)} for p in measured]
    return headlines, phases


def main(seconds: float = 8.0) -> None:
    from pupns_dev.demo import seed_demo
    from pupns_dev.processes import free_port
    from pupns_dev.stack import Stack, StackConfig, delete_vhost

    cfg = StackConfig(var=Path(tempfile.mkdtemp(prefix="edge-bench-")), vhost=f"bench-{uuid.uuid4().hex[:8]}",
                      mongo_port=free_port(), smtp_port=free_port(), edge_port=free_port(),
                      console_port=free_port(), meterai_port=free_port(), storage=":memory:",
                      jwt_keys=f"b:{secrets.token_urlsafe(32)}", admin_password=secrets.token_urlsafe(12),
                      extra_env={"PUPNS_EDGE_USER_RATE": "1000000", "PUPNS_EDGE_USER_BURST": "1000000",
                                 "PUPNS_EDGE_LOGIN_RATE": "100"})
    stack = Stack(cfg)
    stack.start(progress=lambda m: print(m, flush=True))
    try:
        demo = seed_demo(cfg, roster_size=20, seed=7, progress=lambda m: print(m, flush=True))
        bench = Bench(stack, *pns_token(cfg, demo))
        with placement.broker_restored():
            headlines, phases = curves(bench, seconds)
    finally:
        stack.stop()
        delete_vhost(cfg.vhost)
    edge_report.write(headlines, phases, seconds, bench)


if __name__ == "__main__":
    started = time.monotonic()
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 8.0)
    print(f"done in {time.monotonic() - started:.0f} s", flush=True)
