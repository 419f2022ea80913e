"""SPEC §6 under kill -9: a write answered 2xx is in the event log and survives the kill of any one process.

This module runs its OWN platform (not the shared session stack) because it kills things: SecantusDB keeps
its data in a folder under tmp_path, and every AMQP connection of the platform goes through a TCP gate process
("amqp-gate") so that "the broker" can be taken away without touching the machine's shared RabbitMQ server.
The tests run in file order on one stack; each one leaves the platform healthy (it asserts the recovery).
"""
from __future__ import annotations

import csv
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed

import pytest
import requests
from kombu import Connection
from pymongo import MongoClient

from pupns.outbox import ORIGINS
from pupns_dev.demo import seed_demo
from pupns_dev.processes import free_port
from pupns_dev.stack import (
    SERVICES,
    Stack,
    StackConfig,
    close_vhost_connections,
    delete_vhost,
    rpc_consumers,
)
from pupns_dev.waiting import wait_until

pytestmark = pytest.mark.e2e
PASSWORD = "rahasia-sekali-123"
# An Idempotency-Key claim left "pending" by a request cut off by an outage is taken over after this long
# (default 60 s); every request in these tests is bounded far below it (BOUNDED).
TEST_ENV = {"PUPNS_EDGE_USER_RATE": "1000", "PUPNS_EDGE_USER_BURST": "1000",
            "PUPNS_EDGE_IDEMPOTENCY_PENDING_SECONDS": "15"}
# The longest any single request may take while something is down: the edge's RPC deadline is 5 s, so
# anything near this bound is a hang, not an honest "come back later".
BOUNDED = 12.0
REGISTRATIONS_QUEUE = "evt-identity-RegistrationSubmitted--verification.handle_registration_submitted"


class Chaos:
    """The resilience stack plus HTTP helpers; remembers every registration that was answered 201."""

    def __init__(self, stack: Stack, demo: dict):
        self.stack, self.cfg, self.demo = stack, stack.cfg, demo
        self.http = requests.Session()
        self.pool = list(demo["rows"])
        self.accepted: dict[str, dict] = {}  # nip -> roster row, for every 201 ever answered
        self.keys: dict[str, str] = {}  # nip -> the Idempotency-Key its registration is sent with
        self._tokens: dict[str, str] = {}
        self.mongo = MongoClient(self.cfg.mongo_uri, serverSelectionTimeoutMS=5000, tz_aware=True)

    def url(self, path: str) -> str:
        return self.cfg.edge_url + path

    def take(self, count: int) -> list[dict]:
        rows, self.pool = self.pool[:count], self.pool[count:]
        assert len(rows) == count, "enlarge the resilience roster"
        return rows

    # -- HTTP ----------------------------------------------------------------------------------------
    def register(self, row: dict) -> tuple[requests.Response, float]:
        """POST /registrations once (with the row's own Idempotency-Key); (response, seconds)."""
        key = self.keys.setdefault(row["nip"], uuid.uuid4().hex)
        started = time.monotonic()
        resp = self.http.post(self.url("/api/v1/registrations"), timeout=30, headers={"Idempotency-Key": key},
                              json={"nip": row["nip"], "nik": row["nik"], "email": f"{row['nip']}@contoh.go.id",
                                    "password": PASSWORD})
        if resp.status_code == 201:
            self.accepted[row["nip"]] = row
        return resp, time.monotonic() - started

    def register_until_accepted(self, row: dict, timeout: float = 60) -> dict:
        """Retry as a client should after a 503 (same Idempotency-Key) until the platform answers 201."""
        def attempt() -> dict | None:
            resp, _ = self.register(row)
            if resp.status_code == 201:
                return resp.json()
            # 503: come back later; 409 `conflict`: the same request is still marked in progress (Retry-After).
            assert assert_envelope(resp, 503, 409) in ("unavailable", "conflict"), resp.text
            return None
        return wait_until(attempt, timeout=timeout, interval=0.3, message=f"registration of {row['nip']} accepted")

    def token(self, username: str, password: str) -> str:
        if username not in self._tokens:
            def attempt() -> str | None:
                resp = self.http.post(self.url("/api/v1/auth/token"), timeout=30,
                                      json={"username": username, "password": password})
                return resp.json()["access_token"] if resp.status_code == 200 else None
            self._tokens[username] = wait_until(attempt, timeout=60, interval=0.3, message=f"login as {username}")
        return self._tokens[username]

    def admin(self) -> dict:
        return {"Authorization": f"Bearer {self.token('admin', self.cfg.admin_password)}"}

    def verifier(self, kode: str) -> dict:
        account = self.demo["verifiers"][kode]
        return {"Authorization": f"Bearer {self.token(account['username'], account['password'])}"}

    def pending(self, kode: str) -> list[dict]:
        """The verifier's pending list of one instansi, every page."""
        items, cursor = [], None
        while True:
            query = "/api/v1/verifier/registrations?status=pending&limit=50" + (f"&cursor={cursor}" if cursor else "")
            resp = self.http.get(self.url(query), headers=self.verifier(kode), timeout=30)
            assert resp.status_code == 200, resp.text
            body = resp.json()
            items += body["items"]
            if not (cursor := body.get("next")):
                return items

    def wait_all_pending(self, rows: list[dict], timeout: float = 60) -> None:
        """Every row's registration reaches its verifier's pending list, exactly once."""
        def probe() -> bool:
            for kode in {row["instansi_kode"] for row in rows}:
                nips = [item["nip"] for item in self.pending(kode)]
                assert len(nips) == len(set(nips)), f"a registration is listed twice: {nips}"
                if not {row["nip"] for row in rows if row["instansi_kode"] == kode} <= set(nips):
                    return False
            return True
        wait_until(probe, timeout=timeout, interval=0.2, message=f"{len(rows)} registrations pending at verifiers")

    def audit_types(self, nip: str) -> list[str]:
        resp = self.http.get(self.url(f"/api/v1/admin/audit/{nip}"), headers=self.admin(), timeout=30)
        assert resp.status_code == 200, resp.text
        return [event["type"] for event in resp.json()["events"]]

    def assert_in_log(self, rows: list[dict]) -> None:
        """Each row has exactly one registration in identity's log and one in verification's (dedupe)."""
        for row in rows:
            types = self.audit_types(row["nip"])
            assert types.count("RegistrationSubmitted") == 1, (row["nip"], types)
            assert types.count("RegistrationReceived") == 1, (row["nip"], types)

    def wait_serving(self, timeout: float = 60) -> None:
        """readyz is 200 and a call through the edge to a service answers again."""
        wait_until(lambda: self.http.get(self.url("/readyz"), timeout=5).status_code == 200, timeout=timeout,
                   interval=0.2, message="edge ready")
        wait_until(lambda: self.http.get(self.url("/api/v1/admin/campaign"), headers=self.admin(), timeout=15)
                   .status_code == 200, timeout=timeout, interval=0.2, message="edge reaches identity")

    def queue_depth(self, queue: str) -> int:
        """Messages waiting in one of our durable queues (asked of the broker itself, not via the gate)."""
        vhost_uri = f"amqp://guest:guest@127.0.0.1:5672/{self.cfg.vhost}"
        with Connection(vhost_uri) as conn:
            _, depth, _ = conn.default_channel.queue_declare(queue=queue, passive=True)
            return depth


def assert_envelope(resp: requests.Response, *statuses: int) -> str:
    """The response is the spec's JSON error envelope (never HTML, never a bare 500); returns its code."""
    assert resp.headers.get("Content-Type", "").startswith("application/json"), (resp.status_code, resp.text[:300])
    error = resp.json()["error"]
    assert isinstance(error["code"], str) and error["message"], error
    if statuses:
        assert resp.status_code in statuses, (resp.status_code, error)
    return error["code"]


def run_and_kill(chaos: Chaos, rows: list[dict], after: int, kill: Callable[[], None],
                 workers: int = 4) -> list[tuple[dict, requests.Response, float]]:
    """Register `rows` concurrently; once `after` of them are answered 201, run `kill` while the rest go on."""
    answers: list[tuple[dict, requests.Response, float]] = []
    killed = False
    with ThreadPoolExecutor(workers) as pool:
        futures: dict[Future, dict] = {pool.submit(chaos.register, row): row for row in rows}
        for future in as_completed(futures, timeout=120):
            resp, seconds = future.result()  # a requests timeout here is a hang: the test fails
            answers.append((futures[future], resp, seconds))
            if not killed and sum(r.status_code == 201 for _, r, _ in answers) >= after:
                kill()
                killed = True
    assert killed, [(r.status_code, r.text[:200]) for _, r, _ in answers]
    return answers


@pytest.fixture(scope="module")
def chaos(tmp_path_factory):
    var = tmp_path_factory.mktemp("resilience")
    cfg = StackConfig(
        var=var, vhost=f"e2e-chaos-{uuid.uuid4().hex[:8]}", mongo_port=free_port(), smtp_port=free_port(),
        edge_port=free_port(), console_port=free_port(), amqp_gate_port=free_port(), meterai_port=free_port(),
        storage=str(var / "secantus"),
        jwt_keys=f"chaos:{secrets.token_urlsafe(32)}", admin_password=secrets.token_urlsafe(12),
        extra_env=dict(TEST_ENV))
    stack = Stack(cfg)
    stack.start(progress=lambda msg: None)
    helper = None
    try:
        demo = seed_demo(cfg, roster_size=80, seed=31, progress=lambda msg: None)
        with demo["roster"].open(newline="", encoding="utf-8") as fh:
            demo["rows"] = list(csv.DictReader(fh))
        helper = Chaos(stack, demo)
        yield helper
    finally:
        if helper is not None:
            helper.http.close()
            helper.mongo.close()
        stack.stop()
        delete_vhost(cfg.vhost)


def test_consumer_killed_while_registrations_are_accepted(chaos):
    """kill -9 verification mid-burst: what it had not acked, and everything after, waits in its durable queue."""
    rows = chaos.take(12)
    answers = run_and_kill(chaos, rows, after=3, kill=lambda: chaos.stack.kill("verification"))
    assert [r.status_code for _, r, _ in answers] == [201] * len(rows), [(r.status_code, r.text) for _, r, _ in answers]

    # With its consumer dead, the registrations answered after the kill can only be in the durable queue.
    assert chaos.stack.exited() == ["verification"]
    waiting = wait_until(lambda: chaos.queue_depth(REGISTRATIONS_QUEUE), timeout=15, interval=0.1,
                         message="registrations waiting for the dead consumer")
    assert waiting >= 1

    log = chaos.cfg.var / "logs" / "verification.log"
    failures_before = log.read_text(errors="replace").count("error handling worker")
    chaos.stack.restart("verification")
    started = time.monotonic()
    # A transaction the killed process left open holds its stream until the store aborts it (transaction
    # lifetime, 60 s as in mongod): the message redelivered for it is applied after that, hence 90 s.
    chaos.wait_all_pending(rows, timeout=90)
    chaos.assert_in_log(rows)
    assert chaos.queue_depth(REGISTRATIONS_QUEUE) == 0
    # Meanwhile that message was retried at a bounded pace (pupns.dependencies.REQUEUE_PAUSE_SECONDS),
    # not in a hot loop (which logged ~10 000 failures in those 60 s).
    failures = log.read_text(errors="replace").count("error handling worker") - failures_before
    assert failures <= 4 * 4 * (time.monotonic() - started + 1), failures  # in flight at the kill x 4/s


def test_producer_killed_right_after_answering(chaos):
    """kill -9 identity after its 201s; an event stored but never confirmed by the broker is published on restart."""
    rows = chaos.take(6)
    with ThreadPoolExecutor(len(rows)) as pool:
        answers = list(pool.map(chaos.register, rows))
    # At the edge's admission floor a concurrent newcomer may honestly be told to come back (503 `queue`): it does,
    # as a client should, with the same Idempotency-Key, before identity is killed.
    numbers = {}  # the registration number each PNS was given in its accepted answer
    for row, (resp, _) in zip(rows, answers, strict=True):
        if resp.status_code != 201:
            assert assert_envelope(resp, 503) == "queue", resp.text

            def accepted(row=row):
                again, _ = chaos.register(row)
                return again if again.status_code == 201 else None
            resp = wait_until(accepted, timeout=30, interval=float(resp.headers["Retry-After"]),
                              message=f"registration of {row['nip']} accepted")
        numbers[row["nip"]] = resp.json()["registration_number"]
    chaos.stack.kill("identity")

    # The crash window the relay exists for: committed, answered, not yet confirmed by the broker. Whether the
    # kill above landed in it is luck, so put every one of these events back into it: the killed process's record
    # of how far it published (pupns.outbox) is moved back to just before them, which is exactly what the store
    # holds after a crash between commit and confirm.
    identity_db = chaos.mongo[chaos.cfg.db_prefix + "identity"]
    events, origins = identity_db["events"], identity_db[ORIGINS]
    mine = {"nip": {"$in": [row["nip"] for row in rows]}, "type": "RegistrationSubmitted"}
    assert events.count_documents(mine) == len(rows)
    killed = sorted({doc["origin"] for doc in events.find(mine, {"origin": 1})})
    for origin in killed:
        first = min(doc["position"] for doc in events.find({**mine, "origin": origin}, {"position": 1}))
        assert origins.update_one({"_id": origin}, {"$set": {"through": first - 1}}).matched_count == 1

    chaos.stack.restart("identity")
    # A survivor publishes a dead process's events above its record, then retires the record.
    wait_until(lambda: origins.count_documents({"_id": {"$in": killed}}) == 0, timeout=60, interval=0.2,
               message="the killed process's events re-published after the restart")
    chaos.wait_all_pending(rows)
    chaos.assert_in_log(rows)  # published twice (before the kill and after), applied once
    # The accepted answers still stand: a retry with the same key gets the same registration number.
    for row in rows:
        again, _ = chaos.register(row)
        assert again.status_code == 201, again.text
        assert again.json()["registration_number"] == numbers[row["nip"]]


def test_store_keeps_every_acknowledged_commit(chaos):
    """The store itself: every transaction it acknowledged is there after kill -9 (SecantusDB on disk without
    --sync-on-commit lost the last ~70 of 300 such commits; see pupns_dev.processes.start_secantus)."""
    scratch = chaos.mongo["chaos_scratch"]["commits"]
    scratch.insert_one({"_id": -1})
    for n in range(200):
        with chaos.mongo.start_session() as session, session.start_transaction():
            scratch.insert_one({"_id": n}, session=session)
    chaos.stack.kill("secantus")
    chaos.stack.restart("secantus")
    assert scratch.count_documents({"_id": {"$gte": 0}}) == 200
    chaos.wait_serving()


def test_store_killed_mid_flow(chaos):
    """kill -9 SecantusDB during a burst, restart it on the same port and folder: every 201 is still there."""
    rows, during, after = chaos.take(12), chaos.take(1)[0], chaos.take(2)
    answers = run_and_kill(chaos, rows, after=3, kill=lambda: chaos.stack.kill("secantus"), workers=6)
    accepted_before = [row for row, resp, _ in answers if resp.status_code == 201]
    assert len(accepted_before) >= 3

    # During the outage: honest refusals, in bounded time, as JSON envelopes.
    for _, resp, seconds in answers:
        assert seconds < BOUNDED, (seconds, resp.status_code, resp.text[:200])
        if resp.status_code != 201:
            assert_envelope(resp, 503)
    ready = chaos.http.get(chaos.url("/readyz"), timeout=10)
    assert ready.status_code == 503 and assert_envelope(ready) == "unavailable"
    assert ready.json().get("checks", {}).get("store") == "failed", ready.text
    resp, seconds = chaos.register(during)
    assert seconds < BOUNDED, seconds
    assert_envelope(resp, 503)
    started = time.monotonic()  # a call without Idempotency-Key: the edge's own store is not asked first
    login = chaos.http.post(chaos.url("/api/v1/auth/token"), json={"username": "admin", "password": "x" * 12},
                            timeout=30)
    assert time.monotonic() - started < BOUNDED
    assert_envelope(login, 503)
    assert chaos.stack.exited() == ["secantus"], "a service died with the store"

    chaos.stack.restart("secantus")
    chaos.wait_serving()
    for row in after:
        assert chaos.register(row)[0].status_code == 201
    # Whatever was refused during the outage is retried as a client would: same key, the first answer wins.
    refused = [row for row, resp, _ in answers if resp.status_code != 201] + [during]
    for row in refused:
        chaos.register_until_accepted(row)
    everyone = rows + [during] + after
    chaos.wait_all_pending(everyone)
    chaos.assert_in_log(everyone)


def test_broker_connections_lost(chaos):
    """The broker drops every connection of our vhost, then is unreachable for a while: 503s, then recovery."""
    # 1. The broker force-closes every connection (management API, our vhost only): all reconnect.
    closed = close_vhost_connections(chaos.cfg.vhost)
    assert len(closed) >= len(SERVICES) + 1, closed  # every service and at least one edge worker
    for service in SERVICES:
        wait_until(lambda service=service: rpc_consumers(chaos.cfg.vhost, service) > 0, timeout=30, interval=0.2,
                   message=f"{service} reconnected")
    first = chaos.take(2)
    for row in first:
        chaos.register_until_accepted(row, timeout=30)
    chaos.wait_all_pending(first)

    # 2. The broker goes away (every connection reset, new ones refused) for a while.
    chaos.stack.kill("amqp-gate")
    ready = chaos.http.get(chaos.url("/readyz"), timeout=10)
    assert ready.status_code == 503 and ready.json().get("checks", {}).get("broker") == "failed"
    cut = chaos.take(3)
    for row in cut:
        resp, seconds = chaos.register(row)
        assert seconds < BOUNDED, seconds
        assert_envelope(resp, 503)
        assert resp.headers.get("Retry-After"), resp.headers
    assert chaos.stack.exited() == ["amqp-gate"], "a process gave up while the broker was away"

    chaos.stack.restart("amqp-gate")
    for service in SERVICES:
        wait_until(lambda service=service: rpc_consumers(chaos.cfg.vhost, service) > 0, timeout=60, interval=0.2,
                   message=f"{service} reconnected after the outage")
    chaos.wait_serving()
    for row in cut:
        chaos.register_until_accepted(row, timeout=30)
    chaos.wait_all_pending(first + cut)
    chaos.assert_in_log(first + cut)


def test_chains_intact_and_replay_rebuilds_the_same_queue(chaos):
    """After all of the above: no broken hash chain, every 201 is pending, and a replay changes nothing."""
    resp = chaos.http.get(chaos.url("/api/v1/admin/audit/verify"), headers={**chaos.admin(), "Prefer": "wait=60"},
                           timeout=90)
    assert resp.status_code == 200, resp.text
    assert resp.json()["broken"] == [] and resp.json()["events_checked"] > 0

    rows = list(chaos.accepted.values())
    assert len(rows) >= 30, len(rows)
    chaos.wait_all_pending(rows)
    instansi = sorted(chaos.demo["verifiers"])
    before = {kode: chaos.pending(kode) for kode in instansi}
    db = chaos.mongo[chaos.cfg.db_prefix + "verification"]
    models = {name: sorted(db[name].find({}, {"_id": 0}), key=lambda doc: doc["nip"])
              for name in ("registrations", "submissions")}
    assert len(models["registrations"]) == len(rows)

    chaos.stack.kill("verification", signal.SIGTERM)  # replay runs on a stopped service (see `pupns replay -h`)
    done = subprocess.run([sys.executable, "-m", "pupns_cli", "replay", "verification"], env=chaos.cfg.env(),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert {name: sorted(db[name].find({}, {"_id": 0}), key=lambda doc: doc["nip"])
            for name in ("registrations", "submissions")} == models
    chaos.stack.restart("verification")
    assert {kode: chaos.pending(kode) for kode in instansi} == before
