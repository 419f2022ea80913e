"""The whole platform as local processes: used by `make run` and by the e2e tests."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import requests

from pupns_dev.processes import port_open, start_secantus, start_smtp_sink, stop, wait_for_port
from pupns_dev.waiting import wait_until

SERVICES = ("identity", "forms", "verification", "documents", "notifications")
RABBIT_API = os.environ.get("PUPNS_RABBIT_API", "http://127.0.0.1:15672/api")
RABBIT_AUTH = ("guest", "guest")


class StackError(RuntimeError):
    """The platform could not start; the message says why, for a person."""


@dataclass
class StackConfig:
    """Where everything runs. `storage` is a folder, or ':memory:' for tests."""

    var: Path
    vhost: str = "pupns"
    mongo_port: int = 27117
    smtp_port: int = 1025
    edge_port: int = 8000
    console_port: int = 8001
    storage: str = ""
    db_prefix: str = "pupns_"
    jwt_keys: str = ""
    admin_password: str = ""
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def amqp_uri(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:5672/{urllib.parse.quote(self.vhost, safe='')}"

    @property
    def mongo_uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.mongo_port}/?directConnection=true"

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
            "PUPNS_AMQP_URI": self.amqp_uri,
            "PUPNS_DB_PREFIX": self.db_prefix,
            "PUPNS_SMTP_HOST": "127.0.0.1",
            "PUPNS_SMTP_PORT": str(self.smtp_port),
            "PUPNS_JWT_KEYS": self.jwt_keys,
            "PUPNS_JWT_ACTIVE_KID": self.jwt_keys.split(":", 1)[0],
            "PUPNS_ADMIN_PASSWORD": self.admin_password,
            "PUPNS_PUBLIC_URL": self.edge_url,
            "PUPNS_EDGE_BIND": f"127.0.0.1:{self.edge_port}",
            **self.extra_env,
        }


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


def rpc_consumers(vhost: str, service: str) -> int:
    """How many consumers listen on a nameko service's RPC queue."""
    quoted = urllib.parse.quote(vhost, safe="")
    resp = requests.get(f"{RABBIT_API}/queues/{quoted}/rpc-{service}", auth=RABBIT_AUTH, timeout=5)
    return resp.json().get("consumers", 0) if resp.ok else 0


class Stack:
    """Starts SecantusDB, the SMTP sink, every nameko service, the edge and the console."""

    def __init__(self, cfg: StackConfig):
        self.cfg = cfg
        self.procs: list[tuple[str, subprocess.Popen]] = []

    def check_ports_free(self) -> None:
        cfg = self.cfg
        for name, port in (("SecantusDB", cfg.mongo_port), ("SMTP sink", cfg.smtp_port),
                           ("edge", cfg.edge_port), ("console", cfg.console_port)):
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
            progress("starting SecantusDB (MongoDB wire protocol)...")
            storage = cfg.storage or str(cfg.var / "data" / "secantus")
            if storage != ":memory:":
                Path(storage).mkdir(parents=True, exist_ok=True)
            self.procs.append(("secantus", start_secantus(cfg.mongo_port, storage, logs / "secantus.log")))
            progress("starting SMTP sink...")
            self.procs.append(("smtp", start_smtp_sink(cfg.smtp_port, cfg.maildir, logs / "smtp.log")))
            nameko_cfg = self._write_nameko_config()
            for service in SERVICES:
                progress(f"starting service {service}...")
                self._spawn(service, [self._bin("nameko"), "run", "--config", str(nameko_cfg),
                                      f"{service}.service"], logs)
            self._spawn("edge", [self._bin("gunicorn"), "-c", str(self._root() / "services/edge/gunicorn.conf.py"),
                                 "edge.app:app"], logs)
            self._spawn("console", [self._bin("gunicorn"), "-k", "gthread", "--threads", "8", "-b",
                                    f"127.0.0.1:{cfg.console_port}", "console.app:app"], logs)
            self._wait_ready(progress)
        except BaseException:
            self.stop()
            raise

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
        log = open(logs / f"{name}.log", "ab")
        proc = subprocess.Popen(argv, env=self.cfg.env(), stdout=log, stderr=subprocess.STDOUT,
                                cwd=self._root(), start_new_session=True)
        self.procs.append((name, proc))

    def _wait_ready(self, progress) -> None:
        def all_alive() -> None:
            for name, proc in self.procs:
                if proc.poll() is not None:
                    raise StackError(f"{name} exited with code {proc.returncode}; see {self.cfg.var}/logs/{name}.log")

        for service in SERVICES:
            def listening(service=service) -> bool:
                all_alive()
                return rpc_consumers(self.cfg.vhost, service) > 0
            wait_until(listening, timeout=60, interval=0.2, message=f"service {service} listening")
        progress("services are listening; waiting for the edge and the console...")
        for port in (self.cfg.edge_port, self.cfg.console_port):
            wait_for_port(port, timeout=60)

        def edge_ready() -> bool:
            all_alive()
            return requests.get(f"{self.cfg.edge_url}/readyz", timeout=2).status_code == 200
        wait_until(edge_ready, timeout=60, interval=0.2, message="edge /readyz")

    def exited(self) -> list[str]:
        """Names of processes that have exited (empty when all run)."""
        return [name for name, proc in self.procs if proc.poll() is not None]

    def stop(self) -> None:
        """Stop every process this stack started, newest first."""
        for _, proc in reversed(self.procs):
            stop(proc)
        self.procs.clear()
