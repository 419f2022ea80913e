"""Two replicas of every nameko service; 200 PNS through the whole flow at once; then every read model equals a
fresh replay and no consumer applied a stream's events out of order (issue 10, item 6)."""
from __future__ import annotations

import csv
import secrets
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from pymongo import MongoClient

from pupns_dev.demo import patient, seed_demo
from pupns_dev.processes import free_port
from pupns_dev.stack import OWN_STORES, SERVICES, Stack, StackConfig, delete_vhost, own_store_ports, rpc_consumers
from pupns_dev.waiting import wait_until
from tests.e2e.conftest import PASSWORD, TEST_ENV, bearer

PNS_COUNT = 200
PARALLEL = 40
DIKLAT = [{"nama": "Pelatihan Dasar CPNS", "jenis": "Prajabatan", "tahun": 2020, "jam_pelajaran": 40}]


@pytest.fixture(scope="module")
def replicated(tmp_path_factory):
    """A second platform with two processes of each nameko service and a roster big enough for the crowd."""
    cfg = StackConfig(
        var=tmp_path_factory.mktemp("replicas"), vhost=f"e2e-rep-{uuid.uuid4().hex[:8]}",
        mongo_port=free_port(), smtp_port=free_port(), edge_port=free_port(), console_port=free_port(),
        meterai_port=free_port(), store_ports=own_store_ports(free_port() for _ in OWN_STORES),  # as `make run`
        storage=":memory:", jwt_keys=f"rep:{secrets.token_urlsafe(32)}",
        admin_password=secrets.token_urlsafe(12), extra_env=dict(TEST_ENV), replicas=2)
    running = Stack(cfg)
    running.start(progress=lambda msg: None)
    try:
        demo = seed_demo(cfg, roster_size=PNS_COUNT + 20, seed=11, progress=lambda msg: None)
        yield cfg, demo
    finally:
        running.stop()
        delete_vhost(cfg.vhost)


def call(cfg: StackConfig, method: str, path: str, **kwargs):
    """One API call that honours 503/429 + Retry-After like a well-behaved client, which also sends an
    Idempotency-Key with a write, so that a retry of a write that went through (its answer lost to a timeout under
    this load) gets the first answer instead of `already_registered` or `form_locked`."""
    if method != "GET" and not path.endswith("/auth/token"):
        kwargs["headers"] = {"Idempotency-Key": uuid.uuid4().hex, **(kwargs.get("headers") or {})}
    return patient(method, cfg.edge_url + path, progress=lambda msg: None, timeout=60, **kwargs)


def token(cfg: StackConfig, username: str, password: str) -> str:
    return wait_until(lambda: (r := call(cfg, "POST", "/api/v1/auth/token",
                                         json={"username": username, "password": password})).status_code == 200
                      and r.json()["access_token"], timeout=120, interval=0.3, message=f"login as {username}")


def journey(cfg: StackConfig, row: dict, verifier: dict) -> str:
    """register -> confirmed -> log in -> save a section -> submit -> approved -> status verified."""
    nip = row["nip"]
    registered = call(cfg, "POST", "/api/v1/registrations", json={
        "nip": nip, "nik": row["nik"], "email": f"{nip}@contoh.go.id", "password": PASSWORD})
    assert registered.status_code == 201, registered.text
    wait_until(lambda: call(cfg, "POST", f"/api/v1/verifier/registrations/{nip}/confirm",
                            headers=verifier).status_code == 200,
               timeout=120, interval=0.3, message=f"{nip} confirmed")
    pns = bearer(token(cfg, nip, PASSWORD))
    form = wait_until(lambda: (r := call(cfg, "GET", "/api/v1/me/form", headers=pns)).status_code == 200 and r,
                      timeout=120, interval=0.3, message=f"form of {nip}")
    saved = call(cfg, "PUT", "/api/v1/me/form/sections/riwayat_diklat", json=DIKLAT,
                 headers={**pns, "If-Match": form.headers["ETag"].strip('"')})
    assert saved.status_code == 200, saved.text
    submitted = call(cfg, "POST", "/api/v1/me/form/submit", headers=pns)
    assert submitted.status_code == 200, submitted.text
    wait_until(lambda: call(cfg, "POST", f"/api/v1/verifier/submissions/{nip}/approve",
                            headers=verifier).status_code == 200,
               timeout=120, interval=0.3, message=f"{nip} approved")
    wait_until(lambda: call(cfg, "GET", "/api/v1/me", headers=pns).json()["status"] == "verified",
               timeout=120, interval=0.3, message=f"{nip} sees verified")
    return nip


def settle(cfg: StackConfig, admin: dict) -> None:
    """Wait until the asynchronous tail (consumers, e-mails, e-Meterai) stops adding events (three equal counts of
    every service's log, read from the stores: the audit check reads every event, ~30 s a call here), then check
    every chain once through the API."""
    seen: list[int] = []
    clients = {service: MongoClient(cfg.mongo_uri_of(service)) for service in SERVICES}

    def quiet() -> bool:
        seen.append(sum(clients[service][cfg.db_prefix + service].events.count_documents({})
                        for service in SERVICES))
        return len(seen) >= 3 and seen[-1] == seen[-2] == seen[-3]
    try:
        wait_until(quiet, timeout=180, interval=1.0, message="event logs quiet")
    finally:
        for client in clients.values():
            client.close()
    body = call(cfg, "GET", "/api/v1/admin/audit/verify", headers={**admin, "Prefer": "wait=50"}).json()
    assert body["broken"] == [], body["broken"]
    assert body["events_checked"] >= seen[-1], (body["events_checked"], seen[-1])


def test_two_replicas_of_every_service_agree_after_200_concurrent_journeys(replicated):
    cfg, demo = replicated
    for service in SERVICES:
        assert rpc_consumers(cfg.vhost, service) == 2, f"{service}: two replicas consume its RPC queue"
    with demo["roster"].open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))[:PNS_COUNT]
    verifiers = {kode: bearer(token(cfg, a["username"], a["password"])) for kode, a in demo["verifiers"].items()}
    with ThreadPoolExecutor(PARALLEL) as pool:
        done = list(pool.map(lambda row: journey(cfg, row, verifiers[row["instansi_kode"]]), rows))
    assert sorted(done) == sorted(row["nip"] for row in rows)

    admin = bearer(token(cfg, "admin", cfg.admin_password))
    # progress counts follow the approvals within the propagation bound (SPEC: 1 s p99 at capacity)
    wait_until(lambda: call(cfg, "GET", "/api/v1/admin/progress", headers=admin).json()["totals"]["verified"]
               >= PNS_COUNT, timeout=30, interval=0.5, message="every approval counted in the progress totals")
    settle(cfg, admin)
    totals = call(cfg, "GET", "/api/v1/admin/progress", headers=admin).json()["totals"]
    assert totals["verified"] == PNS_COUNT and totals["submitted"] == 0, totals  # each counted once, where it is

    def replay_check(service: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "pupns_cli", "replay", service, "--check"], env=cfg.env(),
                              capture_output=True, text=True, timeout=600)
    with ThreadPoolExecutor(len(SERVICES)) as pool:  # each is a process of its own: together, not one by one
        checks = dict(zip(SERVICES, pool.map(replay_check, SERVICES), strict=True))
    for service, checked in checks.items():
        assert checked.returncode == 0, f"{service}:\n{checked.stdout}\n{checked.stderr}"
        assert "read model sama dengan replay" in checked.stdout
        assert "urutan konsumsi per stream terjaga" in checked.stdout
