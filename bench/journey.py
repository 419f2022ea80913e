"""Registration day, whole journeys: open-loop arrivals of PNS journeys, per step and per component.

A journey: register, the verifier confirms, log in, read the status (GET /me), read the form, save four sections,
upload a 200 KiB PDF, submit, the verifier approves, all over HTTP. Journeys start at Poisson arrivals, each in its
own client thread, whatever the platform answers (open loop). A step waiting for an event still travelling between
services (confirm, login, form, approve) polls with backoff: "waits", not errors. Turned-away answers (503, 429),
timeouts and 5xx are errors of the step, retried as a browser would (Retry-After).
The platform runs as `make run` starts it (SecantusDB on disk syncing every commit), the client on the same machine.
Per phase: each step's throughput, p50/p99 and errors; each component's CPU-ms per completed journey (/proc/<pid>/stat
of the stack's processes and of the RabbitMQ node), gross and net of idle use. Then, in the same run: a profiled
phase (py-spy, the two busiest components), a roster loaded through the API, bench.limits against the same store and
broker. Writes bench/results/journey.{md,json,png}. Usage: python -m bench.journey [--rates 0.5,1,2,3]
[--seconds 60] [--smoke]
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import random
import resource
import secrets
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from bench import journey_report, placement
from bench.write_load import cpu_seconds

PASSWORD = "bench-rahasia-2015"
SAVED_SECTIONS = ("data_utama", "data_posisi", "riwayat_pendidikan", "data_stakeholder")
STEPS = ("register", "confirm", "login", "status", "form", *(f"save_{k}" for k in SAVED_SECTIONS), "upload",
         "submit", "approve")
# Answers that mean "still travelling between services". A verifier gets 403 for a NIP the verification service does
# not yet know to be of their instansi (no NIP oracle across instansi, issue 11): the registration is on its way.
WAIT_CODES = {"confirm": ("403", "404", "409"), "login": ("403",), "form": ("404",),
              "approve": ("403", "404", "409")}
RETRIED = ("503", "429", "500", "502", "504", "ReadTimeout", "ConnectTimeout", "ConnectionError")
STEP_DEADLINE = 120.0
THREADS = 300  # journeys in flight at most (client threads)
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + b"% bench padding line for a 200 KiB upload ...............\n" * 3600


class StepFailed(Exception):
    """A step got an answer it cannot go on from, or ran out of time."""


class Journeys:
    """Runs whole PNS journeys against one edge; verifier tokens are shared by every journey of an instansi."""

    def __init__(self, api: str, verifier_tokens: dict[str, str]) -> None:
        self.api, self.verifier_tokens = api, verifier_tokens
        self.pdf = PDF[:200 * 1024]

    def run(self, row: dict, due: float, phase_start: float) -> dict:
        """One journey; returns its record (every step's latency, attempts, answers; where it failed)."""
        rec = {"nip": row["nip"], "due": due, "start": time.monotonic() - phase_start, "steps": {}, "ok": False,
               "t0": phase_start}
        nip, session = row["nip"], requests.Session()
        try:
            email = f"{nip}@contoh.go.id"
            self.call(rec, session, "register", "POST", "/registrations", idem=True,
                      json={"nip": nip, "nik": row["nik"], "email": email, "password": PASSWORD})
            staff = {"Authorization": f"Bearer {self.verifier_tokens[row['instansi_kode']]}"}
            self.call(rec, session, "confirm", "POST", f"/verifier/registrations/{nip}/confirm", headers=staff)
            token = self.call(rec, session, "login", "POST", "/auth/token",
                              json={"username": nip, "password": PASSWORD}).json()["access_token"]
            mine = {"Authorization": f"Bearer {token}"}
            self.call(rec, session, "status", "GET", "/me", headers=mine)
            form = self.call(rec, session, "form", "GET", "/me/form", headers=mine).json()
            version = form["version"]
            for key, value in section_values(form["sections"], row):
                version = self.call(rec, session, f"save_{key}", "PUT", f"/me/form/sections/{key}", idem=True,
                                    json=value, headers={**mine, "If-Match": str(version)}).json()["version"]
            self.call(rec, session, "upload", "POST", "/me/documents", headers=mine, idem=True,
                      data={"kind": "ijazah"}, files={"file": ("ijazah.pdf", self.pdf, "application/pdf")})
            self.call(rec, session, "submit", "POST", "/me/form/submit", headers=mine, idem=True)
            self.call(rec, session, "approve", "POST", f"/verifier/submissions/{nip}/approve", headers=staff)
            rec["ok"] = True
        except StepFailed as exc:
            rec["failed_at"] = str(exc)
        except Exception as exc:  # a bench bug must show up in the report, not kill the phase
            rec["failed_at"] = f"client: {exc!r}"
        finally:
            rec["end"] = time.monotonic() - rec.pop("t0")
            session.close()
        return rec

    def call(self, rec: dict, session: requests.Session, step: str, method: str, path: str, idem: bool = False,
             headers: dict | None = None, **kwargs) -> requests.Response:
        """One step: retried on waits and transient answers until it succeeds or STEP_DEADLINE passes."""
        headers = {**(headers or {}), **({"Idempotency-Key": uuid.uuid4().hex} if idem else {})}
        first, codes, waits = time.monotonic(), {}, 0
        while True:
            started = time.perf_counter()
            try:
                resp = session.request(method, self.api + path, headers=headers, timeout=30, **kwargs)
                code = str(resp.status_code)
            except requests.RequestException as exc:
                resp, code = None, type(exc).__name__
            took = time.perf_counter() - started
            if resp is not None and resp.ok:
                rec["steps"][step] = {"latency": took, "elapsed": time.monotonic() - first, "waits": waits,
                                      "codes": codes, "done": time.monotonic() - rec["t0"]}
                return resp
            codes[code] = codes.get(code, 0) + 1
            waiting = code in WAIT_CODES.get(step, ())
            waits += waiting
            if (not waiting and code not in RETRIED) or time.monotonic() - first > STEP_DEADLINE:
                detail = resp.text[:200] if resp is not None else code
                rec["steps"][step] = {"failed": True, "waits": waits, "codes": codes, "detail": detail}
                raise StepFailed(step)
            time.sleep(pause(resp, codes[code], waiting))


def pause(resp: requests.Response | None, repeat: int, waiting: bool) -> float:
    """Polls back off from 0.1 s to 1 s; a turned-away client honours Retry-After (0.2..5 s)."""
    if waiting:
        return min(0.1 * 2 ** (repeat - 1), 1.0)
    try:
        return min(max(float(resp.headers.get("Retry-After", "")), 0.2), 5.0)
    except (AttributeError, ValueError):
        return min(0.5 * 2 ** (repeat - 1), 5.0)


def section_values(sections: dict, row: dict) -> list[tuple[str, object]]:
    """The four sections a PNS saves: corrections of the prefilled values plus the stakeholder numbers."""
    utama = {**sections["data_utama"], "alamat": f"Jl. Merdeka No. {row['nip'][-3:]}, Jakarta",
             "no_hp": "081234567890", "status_perkawinan": "Kawin"}
    posisi = {**sections["data_posisi"], "lokasi_kerja": "Jakarta Pusat"}
    pendidikan = sections.get("riwayat_pendidikan") or [
        {"tingkat": row["pendidikan_tingkat"], "nama_sekolah": row["pendidikan_nama"],
         "tahun_lulus": int(row["tahun_lulus"])}]
    pendidikan = [{**pendidikan[0], "nomor_ijazah": f"IJ-{row['nip'][-6:]}"}, *pendidikan[1:]]
    stakeholder = {"bpjs_kesehatan_nomor": f"{int(row['nip'][-13:]):013d}", "taspen_nomor": f"T{row['nip'][-8:]}",
                   "bapertarum_nomor": None, "kpe_nomor": None}
    return list(zip(SAVED_SECTIONS, (utama, posisi, pendidikan, stakeholder), strict=True))


def drive(journeys: Journeys, rows: list[dict], rate: float, seconds: float, seed: int) -> tuple[list[dict], float]:
    """Open loop: Poisson arrivals at `rate`/s for `seconds`; waits for every journey; returns records, start."""
    rng, at, futures = random.Random(seed), 0.0, []
    start = time.monotonic()
    with ThreadPoolExecutor(THREADS) as pool:
        for row in rows:
            at += rng.expovariate(rate)
            if at >= seconds:
                break
            time.sleep(max(0.0, start + at - time.monotonic()))
            futures.append(pool.submit(journeys.run, row, at, start))
        records = [future.result() for future in futures]
    return records, start


def components(stack) -> dict[str, list[int]]:
    """Process ids of each component: edge, each service (all replicas), store, broker, helpers."""
    found: dict[str, list[int]] = {}
    for name, proc in stack.procs:
        kind = name.partition("-")[0]  # a replica ("identity-2") is its service, a store ("secantus-forms") the store
        group = {"secantus": "store", "smtp": "helpers", "meterai": "helpers", "console": "helpers"}.get(kind, kind)
        found.setdefault(group, []).extend(placement.descendants(proc.pid))
    found["broker"] = placement.broker_pids()
    return found


def cpu_snapshot(parts: dict[str, list[int]]) -> dict[str, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {**{name: cpu_seconds(pids) for name, pids in parts.items()}, "client": usage.ru_utime + usage.ru_stime}


def store_counters(stack) -> dict[str, int]:
    """The store's operation counters (serverStatus: opcounters and requests received), summed over every store
    process (one per service under `make run`)."""
    from bench.store_ops import store_clients

    totals: dict[str, int] = {}
    for client in store_clients(stack.cfg):
        with client:
            status = client.admin.command("serverStatus")
        for key, value in {**status.get("opcounters", {}),
                           "requests": status.get("network", {}).get("numRequests", 0)}.items():
            totals[key] = totals.get(key, 0) + value
    return totals


def phase(stack, journeys: Journeys, rows: list[dict], rate: float, seconds: float, idle: dict) -> dict:
    """One open-loop phase: records, per-step figures, CPU per component, store operations per journey."""
    parts = components(stack)
    ops_before, before, started = store_counters(stack), cpu_snapshot(parts), time.monotonic()
    records, _ = drive(journeys, rows, rate, seconds, seed=int(rate * 1000))
    window = time.monotonic() - started
    completed = sum(1 for r in records if r["ok"])
    cpu = journey_report.cpu_per_journey(before, cpu_snapshot(parts), idle, window, completed)
    idle_ops = idle.get("store_ops", {})
    ops = {k: round((v - ops_before.get(k, 0) - idle_ops.get(k, 0.0) * window) / max(completed, 1), 1)
           for k, v in store_counters(stack).items()}
    summary = journey_report.phase_summary(records, rate, seconds, window, STEPS)
    print(journey_report.phase_line(summary, cpu) + f"\n    store operations per journey: {ops}", flush=True)
    return {**summary, "cpu": cpu, "store_ops_per_journey": ops, "records": records}


def idle_rates(stack, seconds: float) -> dict:
    """Cores each component uses with no journey running (timers, relays, pollers), and the store operations/s
    they cause (under "store_ops")."""
    parts = components(stack)
    before, ops_before = cpu_snapshot(parts), store_counters(stack)
    time.sleep(seconds)  # a measurement window, not a synchronisation
    after, ops_after = cpu_snapshot(parts), store_counters(stack)
    return {**{name: (after[name] - before[name]) / seconds for name in before},
            "store_ops": {k: (v - ops_before.get(k, 0)) / seconds for k, v in ops_after.items()}}


def profile_busiest(stack, var: Path, cpu: dict, seconds: float, run_phase) -> dict:
    """py-spy (raw samples) of the two Python components that spent the most CPU per journey, over one more
    phase run by `run_phase` (a separate phase: the sampler's own CPU stays out of the measured ones)."""
    from bench.write_report import profiles

    busiest = sorted((n for n in cpu if n not in ("broker", "helpers", "client", "total") and cpu[n]["net_ms"]),
                     key=lambda n: -cpu[n]["net_ms"])[:2]
    spies = []
    for name in busiest:
        pid = busiest_store(stack) if name == "store" else stack.process(name).pid
        spies.append(subprocess.Popen(
            [str(Path(sys.executable).parent / "py-spy"), "record", "-p", str(pid), "--subprocesses", "-d",
             str(int(seconds)), "-r", "100", "-f", "raw", "-o", str(var / f"profile-{name}.txt"), "--nonblocking"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    run_phase()
    for spy in spies:
        spy.wait(timeout=120)
    found = profiles(var)
    if "store" in found:  # how much of the store's time is the engine, not SecantusDB's Python server
        raw = (var / "profile-store.txt").read_text()
        found["store"]["wiredtiger_share"] = journey_report.stack_share(raw, "wiredtiger")
    return found


def busiest_store(stack) -> int:
    """The pid of the store process that has spent the most CPU so far (one per service under `make run`)."""
    pids = [stack.process(name).pid for name in stack.cfg.stores()]
    return max(pids, key=lambda pid: cpu_seconds([pid]))


def roster_load(stack, admin_token: str, count: int) -> dict:
    """A fresh roster of `count` PNS loaded through the API (POST /admin/roster, a job in 1,000-row steps): rows/s
    and CPU-ms per 1,000 rows of each component."""
    from pupns_dev.demo import cli, import_roster

    path = stack.cfg.var / f"load-roster-{count}.csv"
    cli(stack.cfg, "roster", "generate", "--count", str(count), "--seed", "4500000", "--out", str(path))
    parts = components(stack)
    before, started = cpu_snapshot(parts), time.monotonic()
    result = import_roster(stack.cfg, {"Authorization": f"Bearer {admin_token}"}, path, lambda m: None)["result"]
    seconds, after = time.monotonic() - started, cpu_snapshot(parts)
    print(f"roster: {count} rows in {seconds:.1f} s", flush=True)
    return {"rows": count, "imported": result["imported"], "seconds": round(seconds, 1),
            "rows_per_s": round(count / seconds, 1),
            "cpu_ms_per_1000_rows": {n: round(1e6 * (after[n] - before[n]) / count, 1) for n in before}}


def login_verifiers(api: str, verifiers: dict[str, dict]) -> dict[str, str]:
    tokens = {}
    for kode, account in verifiers.items():
        resp = requests.post(f"{api}/auth/token", json={"username": account["username"],
                                                       "password": account["password"]}, timeout=30)
        resp.raise_for_status()
        tokens[kode] = resp.json()["access_token"]
    return tokens


@contextlib.contextmanager
def running_platform(roster_rows: int, extra_env: dict[str, str] | None = None,
                     code_root: Path | None = None, own_stores: bool = True) -> Iterator[tuple]:
    """The platform as `make run` starts it, a roster of `roster_rows` PNS and logged-in verifiers:
    yields (stack, var, rows, journeys); stops everything afterwards. `extra_env` goes to every platform process;
    `code_root`: another tree whose code they run (pupns_dev.stack.StackConfig.code_root); `own_stores`: a store
    process per service, as `make run` has (False: one store for every database, as before 2026-12-04)."""
    from pupns_dev.demo import seed_demo
    from pupns_dev.processes import free_port
    from pupns_dev.stack import OWN_STORES, Stack, StackConfig, delete_vhost, own_store_ports

    var = Path(tempfile.mkdtemp(prefix="journey-bench-"))
    cfg = StackConfig(var=var, vhost=f"journey-{uuid.uuid4().hex[:8]}", mongo_port=free_port(),
                      smtp_port=free_port(), edge_port=free_port(), console_port=free_port(),
                      meterai_port=free_port(), storage=str(var / "data"), jwt_keys=f"b:{secrets.token_urlsafe(32)}",
                      admin_password=secrets.token_urlsafe(12), code_root=code_root,
                      store_ports=own_store_ports(free_port() for _ in OWN_STORES) if own_stores else {},
                      extra_env={"PUPNS_EDGE_USER_RATE": "1000000", "PUPNS_EDGE_USER_BURST": "1000000",
                                 "PUPNS_EDGE_LOGIN_RATE": "1000", "PUPNS_EDGE_LOGIN_BURST": "1000000",
                                 "PUPNS_TOKEN_TTL": "7200",  # verifier tokens outlive the run
                                 **(extra_env or {})})
    # This process signs its own RPC calls (the limits' ping of identity) with the platform's keys (pupns.callers).
    os.environ.update(PUPNS_JWT_KEYS=cfg.jwt_keys, PUPNS_JWT_ACTIVE_KID=cfg.jwt_keys.split(":", 1)[0])
    stack = Stack(cfg)
    stack.start(progress=lambda m: print(m, flush=True))
    try:
        demo = seed_demo(cfg, roster_size=roster_rows, seed=15, progress=lambda m: print(m, flush=True))
        with demo["roster"].open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        api = cfg.edge_url + "/api/v1"
        yield stack, var, rows, Journeys(api, login_verifiers(api, demo["verifiers"])), demo["admin_token"]
    finally:
        stack.stop()
        delete_vhost(cfg.vhost)


def main(argv: list[str] | None = None) -> int:
    """Phases at each rate, a profiled phase, the limits; writes bench/results/journey.*."""
    from bench import limits

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rates", default="0.5,1,2,3", help="journeys started per second, one phase each")
    parser.add_argument("--seconds", type=float, default=60.0, help="arrival window of each phase")
    parser.add_argument("--smoke", action="store_true", help="a tiny run that proves the bench works")
    args = parser.parse_args(argv)
    rates = [0.3] if args.smoke else [float(r) for r in args.rates.split(",")]
    seconds = 20.0 if args.smoke else args.seconds
    need = int(sum(rate * seconds * 1.5 + 20 for rate in rates)) + 60
    with running_platform(need) as (stack, var, rows, journeys, admin_token):
        idle = idle_rates(stack, 5.0 if args.smoke else 15.0)
        phases, used = [], 0
        for rate in rates:
            print(f"phase: {rate} journeys/s for {seconds:.0f} s...", flush=True)
            phases.append(phase(stack, journeys, rows[used:], rate, seconds, idle))
            used += len(phases[-1]["records"])
        spied = 15.0 if args.smoke else 30.0
        profiles = profile_busiest(stack, var, phases[-1]["cpu"], spied + 10, lambda: phase(
            stack, journeys, rows[used:], rates[len(rates) // 2], spied, idle))
        cfg = stack.cfg
        roster = roster_load(stack, admin_token, 300 if args.smoke else 3000)
        try:
            found = limits.measure(cfg.mongo_uri, cfg.amqp_uri, edge_url=cfg.edge_url, platform_service="identity",
                                   store_pids=components(stack)["store"], edge_pids=components(stack)["edge"],
                                   ops=50 if args.smoke else 300,
                                   events=500 if args.smoke else 5000)
        except Exception as exc:  # the journeys' figures must not be lost with the limits
            traceback.print_exc()
            found = {**json.loads((journey_report.RESULTS / "limits.json").read_text()),
                     "note": f"measuring the limits in this run failed ({exc!r}): the last standalone run's figures"}
    journey_report.write(phases, idle, found, profiles, roster, smoke=args.smoke)
    return 0


if __name__ == "__main__":
    sys.exit(main())
