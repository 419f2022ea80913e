"""The whole platform as local processes: used by `make run` and by the e2e tests."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import urllib.parse
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import requests

from pupns.audit import SERVICES
from pupns.personal.master import random_master_key
from pupns_dev.processes import port_open, start_listening, start_secantus, start_smtp_sink, stop, wait_for_port
from pupns_dev.waiting import wait_until

OWN_STORES = (*SERVICES, "edge")  # the databases that may have a store process of their own (the key store stays)
RABBIT_API = os.environ.get("PUPNS_RABBIT_API", "http://127.0.0.1:15672/api")
RABBIT_AUTH = ("guest", "guest")
BROKER_PORT = 5672


class StackError(RuntimeError):
    """The platform could not start; the message says why, for a person."""


@dataclass
class StackConfig:
    """Where everything runs. `storage` is a folder, or ':memory:' for tests.

    `store_ports`: databases (of OWN_STORES) with a SecantusDB process of their own, by port; every other
    database (the key store's, a test's) lives in the main one on `mongo_port`. As production's services each
    own a database, locally each may own a process: one Python store is not then one core for all services.

    `amqp_gate_port`: when set, every platform process reaches RabbitMQ through a TCP relay process
    ("amqp-gate") on that port, so a test can take "the broker" away (kill the gate: every AMQP connection
    drops, new ones are refused) without touching the machine's shared RabbitMQ server.
    """

    var: Path
    vhost: str = "pupns"
    mongo_port: int = 27117
    smtp_port: int = 1025
    edge_port: int = 8000
    console_port: int = 8001
    meterai_port: int = 8009  # the local e-Meterai simulator, unless PUPNS_METERAI_URL names a real provider
    storage: str = ""
    db_prefix: str = "pupns_"
    jwt_keys: str = ""
    admin_password: str = ""
    # Each stack its own master key (SPEC §7), so tests and benchmarks are hermetic; `make run` keeps one in var/.
    master_key: str = field(default_factory=random_master_key)
    extra_env: dict[str, str] = field(default_factory=dict)
    amqp_gate_port: int | None = None
    metrics_port_base: int | None = None  # nameko service i serves Prometheus /metrics on base + i (+ 10 per replica)
    replicas: int = 1  # processes of each nameko service, as Kubernetes replicas (the second is "<service>-2")
    store_ports: dict[str, int] = field(default_factory=dict)
    # Another tree whose code the processes run (a benchmark's "before" side): it goes first on their PYTHONPATH,
    # and the edge's gunicorn config is read from it too, so that it matches the code it starts.
    code_root: Path | None = None

    @property
    def amqp_uri(self) -> str:
        port = self.amqp_gate_port or BROKER_PORT
        return f"amqp://guest:guest@127.0.0.1:{port}/{urllib.parse.quote(self.vhost, safe='')}"

    @property
    def mongo_uri(self) -> str:
        """The main store's (the key store and every database without a store of its own)."""
        return local_mongo_uri(self.mongo_port)

    def mongo_uri_of(self, database: str) -> str:
        """The store holding `database` (a service's name, "edge", "keys")."""
        return local_mongo_uri(self.store_ports.get(database, self.mongo_port))

    def stores(self) -> dict[str, int]:
        """Every store process by its process name ("secantus", "secantus-identity", ...) and port."""
        return {"secantus": self.mongo_port, **{f"secantus-{db}": port for db, port in self.store_ports.items()}}

    @property
    def maildir(self) -> Path:
        return self.var / "mail"

    @property
    def edge_url(self) -> str:
        return f"http://127.0.0.1:{self.edge_port}"

    @property
    def console_url(self) -> str:
        return f"http://127.0.0.1:{self.console_port}"

    def env(self) -> dict[str, str]:
        """Environment every platform process gets."""
        return {
            **os.environ,
            "PUPNS_MONGO_URI": self.mongo_uri,
            **{f"PUPNS_MONGO_URI_{db.upper()}": self.mongo_uri_of(db) for db in self.store_ports},
            "PUPNS_AMQP_URI": self.amqp_uri,
            "PUPNS_DB_PREFIX": self.db_prefix,
            "PUPNS_SMTP_HOST": "127.0.0.1",
            "PUPNS_SMTP_PORT": str(self.smtp_port),
            "PUPNS_JWT_KEYS": self.jwt_keys,
            "PUPNS_JWT_ACTIVE_KID": self.jwt_keys.split(":", 1)[0],
            "PUPNS_ADMIN_PASSWORD": self.admin_password,
            "PUPNS_PUBLIC_URL": self.edge_url,
            "PUPNS_EDGE_BIND": f"127.0.0.1:{self.edge_port}",
            "PUPNS_MASTER_KEY": self.master_key,
            **({"PYTHONPATH": code_path(self.code_root)} if self.code_root else {}),
            **self.extra_env,
        }


# Where a tree keeps the platform's code, as the venv's .pth lists this tree's.
CODE_DIRS = ("libs", "services/identity", "services/forms", "services/verification", "services/documents",
             "services/notifications", "services/edge", "services/console", ".")


def code_path(tree: Path) -> str:
    """PYTHONPATH that makes the platform's processes import `tree`'s code before the venv's (this tree's)."""
    return ":".join(str(tree / d) for d in CODE_DIRS)


def replica_names(service: str, replicas: int) -> list[str]:
    """Process names of a service's replicas: `identity`, `identity-2`, ..."""
    return [service] + [f"{service}-{n}" for n in range(2, replicas + 1)]


def own_store_ports(ports: Iterable[int]) -> dict[str, int]:
    """A store process of its own for each of OWN_STORES, on the given ports in that order."""
    return dict(zip(OWN_STORES, ports, strict=False))


def local_mongo_uri(port: int) -> str:
    """The URI of a local SecantusDB. retryWrites=false: SecantusDB 0.7 prunes its retryable-write registry with a
    linear scan on every retryable write, so each single write costs more than the last (0.7 ms -> 1.3 ms after
    8,000 writes, measured): over a registration day the store would slow down by itself. Production's
    MongoDB keeps retryable writes (the URI from the operator's secret)."""
    return f"mongodb://127.0.0.1:{port}/?directConnection=true&retryWrites=false"


def ensure_vhost(vhost: str) -> None:
    """Create the RabbitMQ vhost (idempotent) and give guest full rights on it."""
    quoted = urllib.parse.quote(vhost, safe="")
    try:
        requests.put(f"{RABBIT_API}/vhosts/{quoted}", auth=RABBIT_AUTH, timeout=10).raise_for_status()
        requests.put(f"{RABBIT_API}/permissions/{quoted}/guest", auth=RABBIT_AUTH, timeout=10,
                     json={"configure": ".*", "write": ".*", "read": ".*"}).raise_for_status()
    except requests.RequestException as exc:
        raise StackError(f"RabbitMQ management API at {RABBIT_API} did not answer ({exc}); "
                         "run `make rabbit` or `rabbitmq-server -detached`.") from exc


def delete_vhost(vhost: str) -> None:
    quoted = urllib.parse.quote(vhost, safe="")
    requests.delete(f"{RABBIT_API}/vhosts/{quoted}", auth=RABBIT_AUTH, timeout=10)


def vhost_connections(vhost: str) -> list[str]:
    """Names of the broker's client connections in one vhost (management API)."""
    quoted = urllib.parse.quote(vhost, safe="")
    resp = requests.get(f"{RABBIT_API}/vhosts/{quoted}/connections", auth=RABBIT_AUTH, timeout=10)
    resp.raise_for_status()
    return [conn["name"] for conn in resp.json()]


def close_vhost_connections(vhost: str, reason: str = "closed by a resilience test") -> list[str]:
    """Force-close every client connection of one vhost, as the broker does when it goes away.

    Only connections in `vhost` are touched: other users of a shared RabbitMQ server are not affected.
    """
    names = vhost_connections(vhost)
    for name in names:
        requests.delete(f"{RABBIT_API}/connections/{urllib.parse.quote(name, safe='')}", auth=RABBIT_AUTH,
                        headers={"X-Reason": reason}, timeout=10)
    return names


def start_amqp_gate(port: int, log_path: Path, target_port: int = BROKER_PORT,
                    started: Callable[[subprocess.Popen], None] | None = None) -> subprocess.Popen:
    """A TCP relay process from `port` to the broker (see StackConfig.amqp_gate_port)."""
    return start_listening([sys.executable, "-c", f"from pupns_dev.stack import run_gate; run_gate({port}, "
                            f"{target_port})"], port, log_path, started)


def run_gate(port: int, target_port: int) -> None:
    """Relay every TCP connection on 127.0.0.1:`port` to 127.0.0.1:`target_port` until killed."""
    import asyncio

    async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", target_port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))

    async def serve() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", port, reuse_address=True)
        async with server:
            await server.serve_forever()

    asyncio.run(serve())


def rpc_consumers(vhost: str, service: str) -> int:
    """How many consumers listen on a nameko service's RPC queue."""
    quoted = urllib.parse.quote(vhost, safe="")
    resp = requests.get(f"{RABBIT_API}/queues/{quoted}/rpc-{service}", auth=RABBIT_AUTH, timeout=5)
    return resp.json().get("consumers", 0) if resp.ok else 0


def edge_app(code: Path) -> str:
    """The edge's gunicorn app in the tree `code`: its ASGI front, or the WSGI app of a tree from before the front
    (c87799f, 2026-12-03), which that tree's own gunicorn config serves with gthread workers."""
    return "edge.http.server:app" if (code / "services/edge/edge/http/server.py").exists() else "edge.http.app:app"


class Stack:
    """Starts SecantusDB, the SMTP sink, every nameko service, the edge and the console."""

    def __init__(self, cfg: StackConfig, on_change: Callable[[], None] | None = None):
        self.cfg = cfg
        self.procs: list[tuple[str, subprocess.Popen]] = []
        self._argv: dict[str, list[str]] = {}
        self.on_change = on_change  # told as each process starts, before it listens (`make run` records them)
        self._adding = threading.Lock()

    def _add(self, name: str, proc: subprocess.Popen) -> None:
        with self._adding:  # the stores start at once, each from a thread of its own
            self.procs.append((name, proc))
            self._changed()

    def _adder(self, name: str) -> Callable[[subprocess.Popen], None]:
        """`started` for a process that is kept as `name` from the moment it starts (before it listens)."""
        return lambda proc: self._add(name, proc)

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    def check_ports_free(self) -> None:
        cfg = self.cfg
        for name, port in (*((f"SecantusDB ({store})", port) for store, port in cfg.stores().items()),
                           ("SMTP sink", cfg.smtp_port), ("edge", cfg.edge_port), ("console", cfg.console_port),
                           ("e-Meterai simulator", cfg.meterai_port)):
            if port_open(port):
                raise StackError(f"port {port} ({name}) is already in use: is PUPNS (or something else) "
                                 f"already running? Stop it, or set another port.")

    def start(self, progress=print) -> None:
        """Start everything and return when the edge is ready; stops what started on failure."""
        cfg = self.cfg
        self.check_ports_free()
        logs = cfg.var / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        ensure_vhost(cfg.vhost)
        try:
            if cfg.amqp_gate_port:
                progress("starting the AMQP gate...")
                start_amqp_gate(cfg.amqp_gate_port, logs / "amqp-gate.log", started=self._adder("amqp-gate"))
            progress("starting SecantusDB (MongoDB wire protocol)" + (
                f": a store for {', '.join(cfg.store_ports)} and one for the rest..." if cfg.store_ports else "..."))
            self._start_stores(logs)
            progress("starting SMTP sink...")
            start_smtp_sink(cfg.smtp_port, cfg.maildir, logs / "smtp.log", started=self._adder("smtp"))
            if "PUPNS_METERAI_URL" not in os.environ:  # no real provider configured: the local fake e-Meterai
                from pupns_dev import meterai_sim
                progress(f"starting e-Meterai simulator on port {cfg.meterai_port}...")
                meterai_sim.start(cfg.meterai_port, logs / "meterai.log", started=self._adder("meterai"))
                cfg.extra_env["PUPNS_METERAI_URL"] = f"http://127.0.0.1:{cfg.meterai_port}"  # reaches every process
            nameko_cfg = self._write_nameko_config()
            for service in SERVICES:
                progress(f"starting service {service}" + (f" ({cfg.replicas} replicas)..." if cfg.replicas > 1
                                                          else "..."))
                for name in replica_names(service, cfg.replicas):
                    self._spawn(name, [self._bin("nameko"), "run", "--config", str(nameko_cfg),
                                       f"{service}.service"], logs)
            code = cfg.code_root or self._root()
            self._spawn("edge", [self._bin("gunicorn"), "-c", str(code / "services/edge/gunicorn.conf.py"),
                                 edge_app(code)], logs)
            self._spawn("console", [self._bin("gunicorn"), "-k", "gthread", "--threads", "8", "-b",
                                    f"127.0.0.1:{cfg.console_port}", "console.app:app"], logs)
            self._wait_ready(progress)
        except BaseException:
            self.stop()
            raise

    def _storage(self, name: str = "secantus") -> str:
        """A store process's folder (`var/data/secantus`, `var/data/secantus-identity`, ...) or ':memory:'."""
        if self.cfg.storage == ":memory:":
            return ":memory:"
        main = Path(self.cfg.storage or self.cfg.var / "data" / "secantus")
        return str(main if name == "secantus" else main.with_name(f"{main.name}-{name.partition('-')[2]}"))

    def _start_stores(self, logs: Path) -> None:
        """Every store process at once (each takes ~1 s to listen)."""
        def start(item: tuple[str, int]) -> None:
            name, port = item
            storage = self._storage(name)
            if storage != ":memory:":
                Path(storage).mkdir(parents=True, exist_ok=True)
            start_secantus(port, storage, logs / f"{name}.log", started=self._adder(name))
        with ThreadPoolExecutor(len(self.cfg.stores())) as pool:  # each is kept as it starts (stopped on failure)
            futures = [pool.submit(start, item) for item in self.cfg.stores().items()]
        for future in futures:
            future.result()

    def _root(self) -> Path:
        return Path(__file__).resolve().parents[2]

    def _bin(self, name: str) -> str:
        return str(Path(sys.executable).parent / name)

    def _write_nameko_config(self) -> Path:
        path = self.cfg.var / "nameko.yaml"
        path.write_text(json.dumps({"AMQP_URI": self.cfg.amqp_uri, "max_workers": 10,
                                    "serializer": "json"}, indent=2))
        return path

    def _spawn(self, name: str, argv: list[str], logs: Path) -> None:
        self._argv[name] = argv
        self._add(name, self._popen(name, argv, logs))

    def _popen(self, name: str, argv: list[str], logs: Path) -> subprocess.Popen:
        log = open(logs / f"{name}.log", "ab")
        env = self.cfg.env()
        service, _, replica = name.partition("-")
        if self.cfg.metrics_port_base is not None and service in SERVICES:
            env["PUPNS_METRICS_PORT"] = str(self.cfg.metrics_port_base + SERVICES.index(service)
                                            + 10 * (int(replica or 1) - 1))
        if service == "edge":  # gunicorn workers share their metrics here (emptied by gunicorn.conf at start)
            env["PROMETHEUS_MULTIPROC_DIR"] = str(self.cfg.var / "metrics" / name)
        return subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT,
                                cwd=self._root(), start_new_session=True)

    def _wait_ready(self, progress) -> None:
        def all_alive() -> None:
            for name, proc in self.procs:
                if proc.poll() is not None:
                    raise StackError(f"{name} exited with code {proc.returncode}; see {self.cfg.var}/logs/{name}.log")

        for service in SERVICES:
            def listening(service=service) -> bool:
                all_alive()
                return rpc_consumers(self.cfg.vhost, service) >= self.cfg.replicas
            wait_until(listening, timeout=60, interval=0.2, message=f"service {service} listening")
        progress("services are listening; waiting for the edge and the console...")
        for port in (self.cfg.edge_port, self.cfg.console_port):
            wait_for_port(port, timeout=60)

        def edge_ready() -> bool:
            all_alive()
            return requests.get(f"{self.cfg.edge_url}/readyz", timeout=2).status_code == 200
        wait_until(edge_ready, timeout=60, interval=0.2, message="edge /readyz")

    def process(self, name: str) -> subprocess.Popen:
        """The running (or exited) process started under `name` (a service, "edge", "secantus", ...)."""
        for known, proc in self.procs:
            if known == name:
                return proc
        raise KeyError(f"no process named {name!r}; known: {[known for known, _ in self.procs]}")

    def kill(self, name: str, sig: int = signal.SIGKILL, timeout: float = 30) -> None:
        """Send `sig` to one process (its whole process group, e.g. gunicorn's workers) and wait for it to exit.

        For a nameko service this also waits until the broker has dropped its RPC consumer, so a following
        `restart` waits for the new process, not for the ghost of the old one.
        """
        proc = self.process(name)
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                pass
            proc.wait(timeout)
        service = name.partition("-")[0]
        if service in SERVICES:
            wait_until(lambda: rpc_consumers(self.cfg.vhost, service) <= self._live_replicas(service),
                       timeout=timeout, interval=0.1, message=f"broker noticed that {name} is gone")

    def restart(self, name: str, timeout: float = 60) -> subprocess.Popen:
        """Start one process again with its original command, port and storage; return when it serves.

        A process still running is stopped first. SecantusDB keeps its data only with a storage folder.
        """
        cfg, logs = self.cfg, self.cfg.var / "logs"
        index = next(i for i, (known, _) in enumerate(self.procs) if known == name)
        stop(self.procs[index][1])

        def replaced(proc: subprocess.Popen) -> None:  # kept (and recorded) from the moment it starts, as in start()
            with self._adding:
                self.procs[index] = (name, proc)
                self._changed()
        if name in cfg.stores():
            if self._storage(name) == ":memory:":
                raise StackError("SecantusDB runs in memory: a restart would start it empty")
            proc = start_secantus(cfg.stores()[name], self._storage(name), logs / f"{name}.log", started=replaced)
        elif name == "smtp":
            proc = start_smtp_sink(cfg.smtp_port, cfg.maildir, logs / "smtp.log", started=replaced)
        elif name == "amqp-gate":
            proc = start_amqp_gate(cfg.amqp_gate_port, logs / "amqp-gate.log", started=replaced)
        elif name == "meterai":
            from pupns_dev import meterai_sim
            proc = meterai_sim.start(cfg.meterai_port, logs / "meterai.log", started=replaced)
        else:
            proc = self._popen(name, self._argv[name], logs)
            replaced(proc)

        def up() -> bool:
            if proc.poll() is not None:
                return True  # reported below, instead of waiting out the deadline
            if name.partition("-")[0] in SERVICES:
                return rpc_consumers(cfg.vhost, name.partition("-")[0]) >= self._live_replicas(name.partition("-")[0])
            if name == "edge":
                return requests.get(f"{cfg.edge_url}/readyz", timeout=2).status_code == 200
            if name == "console":
                return port_open(cfg.console_port)
            return True
        wait_until(up, timeout=timeout, interval=0.1, message=f"{name} serving again")
        if proc.poll() is not None:
            raise StackError(f"{name} exited with code {proc.returncode}; see {logs}/{name}.log")
        return proc

    def _live_replicas(self, service: str) -> int:
        """How many of a service's replica processes are running now."""
        names = set(replica_names(service, self.cfg.replicas))
        return sum(1 for known, proc in self.procs if known in names and proc.poll() is None)

    def exited(self) -> list[str]:
        """Names of processes that have exited (empty when all run)."""
        return [name for name, proc in self.procs if proc.poll() is not None]

    def stop(self) -> None:
        """Stop every platform process at once, then the store and helpers they depend on."""
        infrastructure = {*self.cfg.stores(), "smtp", "meterai", "amqp-gate"}
        apps = [proc for name, proc in self.procs if name not in infrastructure]
        rest = [proc for name, proc in self.procs if name in infrastructure]
        # Each nameko service and each store process takes ~2 s to stop: stopped one by one, a stack with a store
        # per service took 14 s for its stores alone. Nothing is left to use them once the apps have stopped.
        for group in (apps, rest):
            with ThreadPoolExecutor(max(len(group), 1)) as pool:
                list(pool.map(stop, group))
        self.procs.clear()
