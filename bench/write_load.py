"""Registration day's write path: capacity beside the hashing limit, then floods of 1x to 10x that capacity.

Starts the platform as `make run` does (SecantusDB on disk, syncing every commit) with the load generator on the
same machine and every process free to use every core. In the same run it measures the password-hashing limit of
those cores, then for each path (registration of never-seen PNS, login of many distinct PNS, section save, and
the read path GET /api/v1/me/form for comparison):
- capacity: the most 2xx/s with admission control out of the way (closed loops of 2, 4 and 8 clients), the CPU
  each component spent per operation, and (registration) a py-spy profile of identity and the store;
- floods: open loop at 1x, 2x, 5x and 10x capacity over 800 connections (the read path over 1,000), clients
  ignoring Retry-After: goodput, turn-away latency, timeouts and every other answer;
- in every phase, the propagation lag of every consumer (pupns_propagation_lag_seconds on the services' /metrics);
- two more 10x floods, each right after a capacity measurement of its own, and a constant 503 at the 10x rate (the
  floor of what a turn-away can cost on these cores): bench.write_verdict turns them into the headline.
Writes bench/results/write_load.{md,json,png}. Usage: python -m bench.write_load [seconds-per-phase] [paths] (~10 min;
paths: a comma-separated subset of register,login,save,read, printed instead of written).
PUPNS_BENCH_PLACEMENT=isolated pins the back end (services, stores, broker) to half the cores and the edge and the
load generator to the other half, as production places them, and writes write_load_isolated.* beside the report
of every process on every core (the figure the issue asks for), not instead of it.
"""
from __future__ import annotations

import csv
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from bench import placement, store_ops, write_figures, write_report
from bench.edge_load import Bench
from bench.password_hash import all_cores_hash_ms, hashing_limit_per_s, per_hash_ms
from bench.writeload import PASSWORD
from pupns import passwords
from pupns.cores import usable_cores

KINDS = ("register", "login", "save", "read")
FACTORS = (1, 2, 5, 10)
# Connections of each path's floods: the issue measures the read path at 1,000, the write paths at "hundreds".
FLOOD_CONNECTIONS = {"register": 800, "login": 800, "save": 800, "read": 1000}
ACCOUNTS = 240  # confirmed PNS for the login and save paths
HASH_COUNTERS = ("pupns_password_hashes_total", "pupns_password_hash_cpu_seconds_total")
SERVICE_OF = {"register": "identity", "login": "identity", "save": "forms", "read": "forms"}
# PUPNS_BENCH_PROFILE_FLOOD=save:10 also profiles that path's flood at that factor (a look at where it goes).
PROFILED_FLOOD = dict((k, int(f)) for k, f in (item.split(":") for item in
                                               os.environ.get("PUPNS_BENCH_PROFILE_FLOOD", "").split(",") if item))
# The edge's gunicorn workers x threads, as `make run` starts it by default on 2 cores; PUPNS_BENCH_EDGE_SHAPE=4x4 tries
# another shape.
EDGE_SHAPE = tuple(os.environ.get("PUPNS_BENCH_EDGE_SHAPE", "2x8").split("x", 1))
# Closed loops of capacity: no more clients than a worker's threads, the limit pinned for them (Bench.restart_edge,
# adaptive=False): the workers' share of the connections is uneven, and a client turned away asks again at once (a
# 4x4 edge's 8-client loop was turned away 11,000 times a second and measured 344 reads/s against 588).
CLOSED_LOOPS = tuple(conns for conns in (2, 4, 8) if conns <= int(EDGE_SHAPE[1]))
# 10x floods beyond the curve's, each right after a capacity measurement of its own (bench.write_verdict).
REPEATS = int(os.environ.get("PUPNS_BENCH_REPEATS", "2"))
# Paths whose capacity is set beside the hashing limit: measured right before and after their capacity loops too.
HASHED_PATHS = ("register", "login")
LIMIT_ROUNDS = 40  # hashes on each core per such measurement (~1.2 s here), twice the run's first one
CLOSED_LOOP_CEILING = 60  # registrations/s no closed loop here reaches (2 cores hash ~35/s)


def roster_rows(hashing_limit_rps: float, seconds: float) -> int:
    """Roster rows enough for every registration phase, each PNS registered once, at a capacity up to the hashing
    limit (a registration hashes once): the login and save paths' accounts, the closed loops (sweep and repeats) at
    CLOSED_LOOP_CEILING, the floods of 1x-10x and the repeated 10x floods, as `WriteBench.input_for` asks."""
    conns = FLOOD_CONNECTIONS["register"]
    closed = (3 + REPEATS) * (int(CLOSED_LOOP_CEILING * seconds * 1.2) + 8)
    floods = sum(int(f * hashing_limit_rps * seconds * 1.2) + conns for f in (*FACTORS, *[10] * REPEATS))
    return ACCOUNTS + closed + floods


def scrape(ports: list[int]) -> list[str]:
    """The services' /metrics texts, read once per side of a phase (a service that does not answer is left out)."""
    texts = []
    for port in ports:
        try:
            texts.append(requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text)
        except requests.RequestException:
            continue
    return texts


def lag_buckets(texts: list[str]) -> dict[float, float]:
    """Cumulative counts of pupns_propagation_lag_seconds per bucket bound, summed over every consumer."""
    counts: dict[float, float] = {}
    for text in texts:
        for match in re.finditer(r'^pupns_propagation_lag_seconds_bucket\{[^}]*le="([^"]+)"[^}]*\} (\S+)$', text,
                                 re.M):
            bound = float("inf") if match.group(1) == "+Inf" else float(match.group(1))
            counts[bound] = counts.get(bound, 0.0) + float(match.group(2))
    return counts


def counter_totals(texts: list[str]) -> dict[str, float]:
    """The hash pool's counters (HASH_COUNTERS) summed over the services' /metrics texts."""
    return {name: sum(float(m.group(1)) for text in texts
                      for m in re.finditer(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M)) for name in HASH_COUNTERS}


def turn_aways(text: str) -> dict[str, float]:
    """The edge's turn-aways so far: answered on its event loop ("at_once") and, by cause, after it let them by."""
    found = {"at_once": 0.0}
    for match in re.finditer(r'^pupns_edge_requests_total\{route="shed",status="503"\} (\S+)$', text, re.M):
        found["at_once"] += float(match.group(1))
    for match in re.finditer(r'^pupns_edge_turned_away_total\{cause="([^"]+)"\} (\S+)$', text, re.M):
        found[match.group(1)] = found.get(match.group(1), 0.0) + float(match.group(2))
    return found


def lag_quantiles(before: dict[float, float], after: dict[float, float]) -> dict[str, float | None]:
    """p50/p99 (bucket upper bounds) of the lags observed between two scrapes, and how many there were."""
    delta = sorted((bound, after.get(bound, 0.0) - before.get(bound, 0.0)) for bound in after)
    total = delta[-1][1] if delta else 0.0
    found: dict[str, float | None] = {"lag_events": total}
    for name, q in (("lag_p50_s", 0.5), ("lag_p99_s", 0.99)):
        found[name] = next((bound for bound, count in delta if total and count >= q * total), None)
    return found


def free_port_run(count: int) -> int:
    """The first of `count` consecutive free ports (nameko service i serves its metrics on base + i)."""
    from pupns_dev.processes import port_open

    for base in range(21000, 60000, 97):
        if not any(port_open(base + i) for i in range(count)):
            return base
    raise RuntimeError("no run of free ports")


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def store_ms_by_collection(before: dict, after: dict, done: float, top: int = 8) -> dict[str, float]:
    """The store's own time per operation (its `top`), the `top` collections that took most of it, and "all"."""
    spent = {ns: sum(ms for _, ms in kinds.values()) for ns, kinds in store_ops.delta(before, after, done).items()}
    ranked = sorted(spent.items(), key=lambda item: -item[1])[:top]
    return {"all": round(sum(spent.values()), 2), **{ns: round(ms, 2) for ns, ms in ranked}}


class WriteBench:
    """One running platform and the inputs of each write path."""

    def __init__(self, stack, demo: dict, var: Path, bench: Bench, placement_name: str = "shared",
                 hash_cpus: set[int] | None = None, hash_cores: int | None = None) -> None:
        self.stack, self.demo, self.var, self.bench, self.placement = stack, demo, var, bench, placement_name
        # the cores the back end (and so its hashing) runs on, and how many of them it may use
        self.hash_cpus = hash_cpus or placement.all_cpus()
        self.hash_cores = hash_cores or len(self.hash_cpus)
        self.api = stack.cfg.edge_url + "/api/v1"
        with demo["roster"].open(newline="", encoding="utf-8") as fh:
            self.rows = [(r["nip"], r["nik"], r["instansi_kode"]) for r in csv.DictReader(fh)]
        self.next_row = ACCOUNTS
        self.inputs: dict[str, dict] = {}
        base = stack.cfg.metrics_port_base
        self.metrics_ports = [base + i for i in range(5)] if base is not None else []
        self.stores = store_ops.store_clients(stack.cfg)

    def components(self) -> dict[str, list[int]]:
        """Process ids of each component (a gunicorn or nameko process with its children; the broker; every
        store process together as "secantus")."""
        found: dict[str, list[int]] = {}
        for name, proc in self.stack.procs:
            found.setdefault("secantus" if name.startswith("secantus") else name, []).extend(
                placement.descendants(proc.pid))
        found["rabbitmq"] = placement.broker_pids()
        return found

    def store_top(self) -> dict:
        """Every store process's `top`."""
        return store_ops.top_of_all(self.stores)

    # -- inputs -------------------------------------------------------------------------------------
    def prepare_accounts(self) -> None:
        """Register, confirm and log in ACCOUNTS PNS (the login and save paths' users)."""
        accounts = self.rows[:ACCOUNTS]
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(self._register, accounts))
            verifier_tokens = {kode: self._token(v["username"], v["password"])
                               for kode, v in self.demo["verifiers"].items()}
            list(pool.map(lambda row: self._confirm(row, verifier_tokens[row[2]]), accounts))
            tokens = list(pool.map(lambda row: self._patient(lambda: self._token(row[0], PASSWORD)), accounts))
            forms = list(pool.map(self._form, tokens))
        self.inputs["login"] = {"nips": [row[0] for row in accounts]}
        self.inputs["read"] = {"tokens": tokens}
        self.inputs["save"] = {"tokens": tokens, "versions": [f["version"] for f in forms],
                               "bodies": [f["sections"]["data_utama"] for f in forms]}

    def _register(self, row: tuple[str, str, str]) -> None:
        payload = {"nip": row[0], "nik": row[1], "email": f"{row[0]}@contoh.go.id", "password": PASSWORD}
        self._patient(lambda: requests.post(f"{self.api}/registrations", json=payload, timeout=30).ok)

    def _confirm(self, row: tuple[str, str, str], token: str) -> None:
        auth = {"Authorization": f"Bearer {token}"}
        self._patient(lambda: requests.post(f"{self.api}/verifier/registrations/{row[0]}/confirm", headers=auth,
                                            timeout=30).ok)

    def _token(self, username: str, password: str) -> str | None:
        answer = requests.post(f"{self.api}/auth/token", json={"username": username, "password": password},
                               timeout=30)
        return answer.json()["access_token"] if answer.ok else None

    def _form(self, token: str) -> dict:
        return self._patient(lambda: (r := requests.get(f"{self.api}/me/form", timeout=30, headers={
            "Authorization": f"Bearer {token}"})).ok and r.json())

    @staticmethod
    def _patient(probe):
        from pupns_dev.waiting import wait_until

        return wait_until(probe, timeout=120, interval=0.3, message="bench set-up step")

    def input_for(self, kind: str, rate: float | None, seconds: float, conns: int) -> Path:
        """The generator's input: for registrations, fresh roster rows enough for this phase."""
        if kind == "register":
            # A closed loop goes as fast as the platform answers: enough rows for the hashing limit of any
            # machine this runs on (a row used twice would be counted as a 409 and cap the capacity measured).
            need = int((rate or CLOSED_LOOP_CEILING) * seconds * 1.2) + conns
            rows = self.rows[self.next_row:self.next_row + need]
            self.next_row += len(rows)
            if len(rows) < need:
                print(f"warning: only {len(rows)} fresh roster rows left for {need} registrations", flush=True)
            data = {"rows": [[nip, nik] for nip, nik, _ in rows]}
        else:
            data = self.inputs[kind]
        path = self.var / f"input-{kind}.json"
        path.write_text(json.dumps(data))
        return path

    # -- phases ---------------------------------------------------------------------------------------
    def phase(self, kind: str, rate: float | None, seconds: float, conns: int, label: str,
              profile: str | None = None) -> dict:
        """One generator run; CPU per component over it; unless `profile` is None, py-spy of the path's service
        and the store (`profile` ends the profile files' names: "" for the capacity profile, "-save-10x" for a
        flood's)."""
        argv = [sys.executable, "-m", "bench.writeload", str(self.stack.cfg.edge_port), kind, str(rate or 0),
                str(seconds), str(conns), str(self.input_for(kind, rate, seconds, conns))]
        parts = self.components()
        before = {name: cpu_seconds(pids) for name, pids in parts.items()}
        metrics_before = scrape(self.metrics_ports)
        edge_before = turn_aways("".join(scrape([self.stack.cfg.edge_port])))
        top_before = self.store_top()
        spies = self._spy(seconds, kind, profile) if profile is not None else []
        started = time.monotonic()
        cpus = self.bench.client_cpus  # every core, or the front's (PUPNS_BENCH_PLACEMENT=isolated)
        out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=True,
                             cwd=write_report.ROOT, preexec_fn=lambda: os.sched_setaffinity(0, cpus))
        elapsed = time.monotonic() - started
        result = json.loads(out.stdout.strip().splitlines()[-1])
        versions = result.pop("versions", None)
        if versions:  # the next phase's saves start from the forms' current versions
            self.inputs["save"]["versions"] = versions
        done = max(result["goodput_rps"] * seconds, 1)
        cpu = {name: round(1000 * (cpu_seconds(pids) - before[name]) / done, 1) for name, pids in parts.items()}
        store_time = store_ms_by_collection(top_before, self.store_top(), done)
        for spy in spies:
            spy.wait(timeout=seconds + 30)
        metrics_after = scrape(self.metrics_ports)
        edge_after = turn_aways("".join(scrape([self.stack.cfg.edge_port])))
        hashes_before, hashes_after = counter_totals(metrics_before), counter_totals(metrics_after)
        hashes = {name: hashes_after[name] - hashes_before[name] for name in HASH_COUNTERS}
        phase = {"phase": label, "kind": kind, "rate": rate, "conns": conns, **result,
                 **lag_quantiles(lag_buckets(metrics_before), lag_buckets(metrics_after)),
                 "cpu_ms_per_op": cpu, "cpu_share": round(sum(cpu.values()) * done / 1000 / elapsed, 2),
                 # the path's own hashes, measured where they ran in this phase (pupns.passwords.HashPool)
                 "hashes_per_op": round(hashes[HASH_COUNTERS[0]] / done, 2),
                 "hash_cpu_ms_per_op": round(1000 * hashes[HASH_COUNTERS[1]] / done, 1),
                 "store_ms_per_op": store_time,
                 "turned_away": {cause: edge_after[cause] - edge_before.get(cause, 0.0) for cause in edge_after}}
        print({k: phase[k] for k in ("phase", "offered_rps", "goodput_rps", "away_p99_ms", "counts", "error_codes",
                                     "cpu_ms_per_op", "hash_cpu_ms_per_op", "lag_p99_s",
                                     "store_ms_per_op", "turned_away")}, flush=True)
        return phase

    def _spy(self, seconds: float, kind: str, tag: str) -> list[subprocess.Popen]:
        py_spy = Path(sys.executable).parent / "py-spy"
        spies = []
        own_store = f"secantus-{SERVICE_OF[kind]}"
        names = [SERVICE_OF[kind], own_store if own_store in self.stack.cfg.stores() else "secantus"]
        if kind == "register" and not tag:  # a registration's other consumers cost about as much as its store
            names += ["notifications", "verification"]
        # A flood's profile also looks at the edge (its gunicorn workers), where the turn-aways are answered.
        for name in names + (["edge"] if tag else []):
            pid = self.stack.process(name).pid
            out = self.var / f"profile-{name}{tag}.txt"
            workers = ["--subprocesses"] if name == "edge" else []
            spies.append(subprocess.Popen([str(py_spy), "record", "-p", str(pid), "-d", str(int(seconds)), "-r",
                                           "100", "-f", "raw", "-o", str(out), "--nonblocking", *workers],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        return spies

    def capacity(self, kind: str, seconds: float, loops: tuple[int, ...] = CLOSED_LOOPS,
                 label: str | None = None) -> tuple[dict, list[dict]]:
        """Closed loops of `loops` clients with admission control out of the way, then the adaptive edge back: the
        best loop's phase (write_figures.capacity_phase) and every loop's. The sweep (no `label`) profiles
        registration at 4 clients."""
        before = self.hashing_limit_now() if kind in HASHED_PATHS else None
        self.bench.restart_edge(*EDGE_SHAPE, self.placement, adaptive=False)
        phases = []
        for conns in loops:
            profiled = label is None and kind == "register" and conns == 4
            # py-spy samples four processes 100 times a second on the cores the loop runs on: that loop measures
            # fewer registrations/s than its neighbours (its CPU per registration, counted per component, is theirs),
            # so its row says so; the best loop is the capacity.
            name = f"{label or kind}: capacity, closed loop {conns} clients" + (", profiled" if profiled else "")
            phases.append(self.phase(kind, None, seconds, conns, name, profile="" if profiled else None))
        if before is not None:
            limits = (before, self.hashing_limit_now())
            for phase in phases:
                phase.update(hashing_limits_rps=limits, hashing_limit_rps_around=round(sum(limits) / 2, 1))
        self.bench.restart_edge(*EDGE_SHAPE, self.placement)
        return write_figures.capacity_phase(phases), phases

    def hashing_limit_now(self) -> float:
        """Hashes/s the back end's cores do together, measured now with the platform idle between phases: the
        limit a capacity is set beside, taken in the same minutes as that capacity (the VM's speed drifts)."""
        with placement.pinned(self.hash_cpus):
            return hashing_limit_per_s(all_cores_hash_ms(self.hash_cores, LIMIT_ROUNDS), self.hash_cores)

    def curve(self, kind: str, seconds: float) -> list[dict]:
        """The sweep's capacity, the floods of 1x to 10x it, more 10x runs each against a capacity of its own
        (bench.write_verdict says why), and the floor at the first 10x rate."""
        best, phases = self.capacity(kind, seconds)
        capacity = best["goodput_rps"]
        for factor in FACTORS:
            phase = self.phase(kind, round(capacity * factor, 1), seconds, FLOOD_CONNECTIONS[kind],
                               f"{kind}: {factor}x capacity, open loop",
                               profile=f"-{kind}-{factor}x" if factor == PROFILED_FLOOD.get(kind) else None)
            phases.append({**phase, "factor": factor, "capacity_rps": capacity, **({"run": 1} if factor == 10 else {})})
        for run in range(2, 2 + REPEATS):
            phases += self.paired_run(kind, seconds, best["conns"], run)
        ten_x = round(capacity * 10, 1)
        floor = self.bench.floor(ten_x, seconds, EDGE_SHAPE, kind)
        phases.append({**{k: v for k, v in floor.items() if k != "factor"}, "kind": kind, "rate": ten_x,
                       "floor": True, "cpu_ms_per_op": {}})
        return phases

    def paired_run(self, kind: str, seconds: float, conns: int, run: int) -> list[dict]:
        """A capacity measurement (closed loop of `conns` clients) and, right after it, a 10x flood of that."""
        own, _ = self.capacity(kind, seconds, (conns,), f"{kind} (run {run})")
        capacity = own["goodput_rps"]
        ten = self.phase(kind, round(capacity * 10, 1), seconds, FLOOD_CONNECTIONS[kind],
                         f"{kind} (run {run}): 10x capacity, open loop")
        return [{**own, "run": run}, {**ten, "run": run, "capacity_rps": capacity}]


def stack_config(var: Path, one_store: bool = False, extra_env: dict[str, str] | None = None,
                 code_root: Path | None = None):
    """The platform as `make run` starts it (a store process per service; `one_store`: all in one, for comparison),
    on free ports under `var`, with the per-user and per-username rate limits out of the bench's way (`code_root`:
    another tree whose code the processes run)."""
    from pupns_dev.processes import free_port
    from pupns_dev.stack import OWN_STORES, StackConfig, own_store_ports

    return StackConfig(var=var, vhost=f"bench-{uuid.uuid4().hex[:8]}", mongo_port=free_port(), smtp_port=free_port(),
                       edge_port=free_port(), console_port=free_port(), meterai_port=free_port(),
                       store_ports={} if one_store else own_store_ports(free_port() for _ in OWN_STORES),
                       storage=str(var / "data"), jwt_keys=f"b:{secrets.token_urlsafe(32)}",
                       admin_password=secrets.token_urlsafe(12), metrics_port_base=free_port_run(5),
                       code_root=code_root, extra_env={**(extra_env or {}), "PUPNS_EDGE_USER_RATE": "1000000",
                                  "PUPNS_EDGE_USER_BURST": "1000000", "PUPNS_EDGE_LOGIN_RATE": "1000",
                                  "PUPNS_EDGE_LOGIN_BURST": "1000000"})


def main(seconds: float = 8.0, kinds: tuple[str, ...] = KINDS) -> None:
    """Every path's curve, reported in bench/results/; a subset of paths is only printed (a partial report would
    replace the whole one)."""
    from pupns_dev.demo import seed_demo
    from pupns_dev.stack import Stack, delete_vhost

    placement_name = os.environ.get("PUPNS_BENCH_PLACEMENT", "shared")
    if placement_name not in ("shared", "isolated"):
        raise SystemExit(f"PUPNS_BENCH_PLACEMENT: shared or isolated, not {placement_name!r}")
    isolated = placement_name == "isolated"
    back_cpus = placement.halves()[0] if isolated else placement.all_cpus()
    cores = len(back_cpus) if isolated else usable_cores()
    # The limit is what the (back end's) cores hash together (each hashing), the figure a registration competes
    # with; one hash alone is reported beside it.
    with placement.pinned(back_cpus):
        hashing = {"hash_ms": all_cores_hash_ms(cores, 20), "single_hash_ms": per_hash_ms(10), "cores": cores,
                   # argon2-cffi's own call, the hash the "a core hashes ~20 passwords/s" was (beside ours)
                   "stock_hash_ms": all_cores_hash_ms(cores, 20, passwords.ARGON2.hash)}
    var = Path(tempfile.mkdtemp(prefix="write-bench-"))
    cfg = stack_config(var, one_store=os.environ.get("PUPNS_BENCH_ONE_STORE") == "1")
    stack = Stack(cfg)
    stack.start(progress=lambda m: print(m, flush=True))
    try:
        with placement.broker_restored():  # the machine's broker gets back the cores it had
            rows = roster_rows(hashing_limit_per_s(hashing["hash_ms"], cores), seconds)
            demo = seed_demo(cfg, roster_size=rows, seed=9, progress=lambda m: print(m, flush=True))
            bench = Bench(stack, "-", {})
            run = WriteBench(stack, demo, var, bench, placement_name, back_cpus, cores)
            print("registering, confirming and logging in the login and save paths' PNS...", flush=True)
            run.prepare_accounts()
            phases = [phase for kind in kinds for phase in run.curve(kind, seconds)]
            profiles = write_report.profiles(var)
    finally:
        stack.stop()
        delete_vhost(cfg.vhost)
    write_report.write(phases, hashing, profiles, seconds, publish=kinds == KINDS, placed=bench if isolated else None)


if __name__ == "__main__":
    started = time.monotonic()
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 8.0,
         tuple(sys.argv[2].split(",")) if len(sys.argv) > 2 else KINDS)
    print(f"done in {time.monotonic() - started:.0f} s", flush=True)
