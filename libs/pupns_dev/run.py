"""`make run`: start the whole platform on embedded defaults, seed demo data, print how to use it."""
from __future__ import annotations

import fcntl
import os
import secrets
import signal
import sys
import threading
import time
from pathlib import Path

from pupns.personal.master import random_master_key
from pupns_dev import leftovers
from pupns_dev.demo import secret_file, seed_demo
from pupns_dev.stack import OWN_STORES, Stack, StackConfig, StackError, own_store_ports
from pupns_dev.supervise import Supervisor

ROOT = Path(__file__).resolve().parents[2]


def config_from_env() -> StackConfig:
    """Ports and secrets for a local run; secrets are generated once into var/ (git-ignored)."""
    var = ROOT / "var"
    var.mkdir(exist_ok=True)
    admin = os.environ.get("PUPNS_ADMIN_PASSWORD") or secret_file(
        var / "admin-password", lambda: secrets.token_urlsafe(14))
    keys = os.environ.get("PUPNS_JWT_KEYS") or secret_file(
        var / "jwt-keys", lambda: f"k{int(time.time())}:{secrets.token_urlsafe(32)}")
    master_key = os.environ.get("PUPNS_MASTER_KEY") or secret_file(
        var / "master-key", lambda: f"k{int(time.time())}:{random_master_key()}")
    env = os.environ.get
    mongo_port = int(env("PUPNS_MONGO_PORT", "27117"))  # each service's own store on the ports after it
    return StackConfig(var=var, vhost=env("PUPNS_VHOST", "pupns"), mongo_port=mongo_port,
                       store_ports=own_store_ports(range(mongo_port + 1, mongo_port + 1 + len(OWN_STORES))),
                       smtp_port=int(env("PUPNS_SMTP_PORT", "1025")), edge_port=int(env("PUPNS_EDGE_PORT", "8000")),
                       console_port=int(env("PUPNS_CONSOLE_PORT", "8001")), jwt_keys=keys, admin_password=admin,
                       master_key=master_key,
                       metrics_port_base=int(env("PUPNS_METRICS_PORT_BASE", "9101")),
                       replicas=max(1, int(env("PUPNS_REPLICAS", "1"))))


def single_store_leftovers(cfg: StackConfig) -> list[str]:
    """Service databases left in the main store by a `make run` from before each service had its own: no
    process reads them any more (the services start afresh in their own stores)."""
    from pymongo import MongoClient

    with MongoClient(cfg.mongo_uri, serverSelectionTimeoutMS=5000) as client:
        present = set(client.list_database_names())
    return sorted(name for db in cfg.store_ports if (name := f"{cfg.db_prefix}{db}") in present)


def banner(cfg: StackConfig, demo: dict) -> str:
    lines = [
        "", "=" * 72, "PUPNS is running. Press Ctrl-C to stop everything.", "=" * 72,
        f"  Public edge (PNS, API):   {cfg.edge_url}/   (OpenAPI: {cfg.edge_url}/api/v1/openapi.json)",
        f"  Verifier console:         {cfg.console_url}/",
        f"  RabbitMQ management:      http://127.0.0.1:15672/  (vhost {cfg.vhost})",
        f"  MongoDB (SecantusDB):     {cfg.mongo_uri}  (key store); a store process each: "
        + ", ".join(f"{db} :{port}" for db, port in cfg.store_ports.items()),
        f"  E-mails received (SMTP):  {cfg.maildir}/",
        f"  e-Meterai (simulator):    http://127.0.0.1:{cfg.meterai_port}/  (POST /_outage {{\"down\": true}} "
        "simulates an outage)",
        f"  Logs:                     {cfg.var}/logs/",
        f"  Service metrics:          http://127.0.0.1:{cfg.metrics_port_base}-{cfg.metrics_port_base + 4}/metrics",
        "", f"  Admin:      username admin   password {cfg.admin_password}",
    ]
    for _, account in sorted(demo["verifiers"].items()):
        lines.append(f"  Verifier:   username {account['username']:<22} password {account['password']}"
                     f"   ({account['instansi_nama']})")
    lines += [f"  Demo roster ({demo['roster_summary']['imported'] + demo['roster_summary']['unchanged']} PNS): "
              f"{demo['roster']}  (register with a row's nip and nik)", "=" * 72]
    return "\n".join(lines)


def main() -> int:
    cfg = config_from_env()
    lock = open(cfg.var / "run.lock", "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print("PUPNS is already running from this folder (var/run.lock is held). Stop it first.", file=sys.stderr)
        return 1
    stack = Stack(cfg)
    pids = cfg.var / "run.pids"

    def on_signal(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)  # the terminal closed: the platform's processes would not hear it
    say = lambda msg: print(msg, flush=True)  # noqa: E731
    if stopped := leftovers.stop_recorded(pids):
        say(f"stopped what an earlier `make run` that did not stop left running: {', '.join(stopped)}")
    recorder = leftovers.Recorder(pids, stack.procs)
    stack.on_change = recorder.update  # every process on record as soon as it is started
    try:
        stack.start(progress=say)
        if old_databases := single_store_leftovers(cfg):
            say(f"note: {', '.join(old_databases)} in {cfg.var}/data/secantus are from the single-store layout and are "
                "no longer read (each service now has its own store); `rm -rf var/data` starts afresh.")
        seeding = Seeding(cfg, say)
        seeding.start()
        supervisor = Supervisor(stack, log=lambda msg: print(msg, file=sys.stderr, flush=True))
        while True:
            supervisor.tick()  # a crashed process is started again; the platform is never stopped for it
            recorder.update()
            if seeding.demo is not None:
                print(banner(cfg, seeding.demo), flush=True)
                seeding.demo = None
            time.sleep(1)
    except StackError as exc:
        print(f"cannot start PUPNS: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopping PUPNS...", flush=True)
        return 0
    finally:
        stack.stop()
        pids.unlink(missing_ok=True)
        print("all PUPNS processes stopped.", flush=True)


class Seeding(threading.Thread):
    """Seeds the demo data beside the supervisor; `demo` is set once everything is really in place."""

    def __init__(self, cfg: StackConfig, say) -> None:
        super().__init__(name="demo-seeding", daemon=True)
        self.cfg, self.say, self.demo = cfg, say, None

    def run(self) -> None:
        for attempt in range(1, 1000):
            try:
                self.demo = seed_demo(self.cfg, progress=self.say)
                return
            except Exception as exc:  # noqa: BLE001 - the platform keeps running; seeding tries again
                pause = min(5 * attempt, 60)
                print(f"demo seeding failed ({exc}); trying again in {pause} s", file=sys.stderr, flush=True)
                time.sleep(pause)


if __name__ == "__main__":
    sys.exit(main())
