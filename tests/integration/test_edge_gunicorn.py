"""The edge in a real gunicorn process (uvicorn workers), calling a test-only nameko service over real RabbitMQ."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from nameko.rpc import rpc

from pupns.errors import AppError
from pupns_dev.processes import free_port, stop, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
REG = {"nip": "199001012015031001", "nik": "3201014101900001", "email": "a@b.id", "password": "rahasia-sekali"}


class FakeIdentity:
    """Stands in for identity: answers `register` from the NIK so both paths can be checked."""

    name = "identity"

    @rpc
    def ping(self):
        return {"service": "identity", "ok": True}

    @rpc
    def register(self, payload, idempotency_key=None):
        if payload["nik"] == "bad":
            raise AppError("nik_mismatch")
        number = "PUPNS-2015-" + payload["nip"][-8:]
        return {"registration_number": number, "nip": payload["nip"], "nama": "Budi", "instansi_nama": "BKN",
                "status": "pending_confirmation", "receipt_path": f"/api/v1/receipts/{number}.pdf?sig=x"}


# Admission control is tested in test_edge_surge.py (it sets its own limits in the environment);
# here it must not turn the burst away.
NO_ADMISSION_LIMIT = {"PUPNS_EDGE_CAPACITY": "64", "PUPNS_EDGE_CAPACITY_MIN": "64", "PUPNS_EDGE_CAPACITY_MAX": "64"}


def start_edge(tmp_path, amqp_uri, mongo_uri, db_prefix, workers=1, threads=4):
    port = free_port()
    env = {**NO_ADMISSION_LIMIT, **os.environ, "PUPNS_AMQP_URI": amqp_uri, "PUPNS_MONGO_URI": mongo_uri,
           "PUPNS_DB_PREFIX": db_prefix, "PUPNS_EDGE_BIND": f"127.0.0.1:{port}", "PUPNS_EDGE_WORKERS": str(workers),
           "PUPNS_EDGE_THREADS": str(threads), "PUPNS_RPC_TIMEOUT": "5"}
    log = open(tmp_path / f"edge-{port}.log", "ab")
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(ROOT / "services/edge/gunicorn.conf.py"),
                             "edge.http.server:app"], env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True, cwd=ROOT)
    wait_for_port(port, proc)
    return proc, f"http://127.0.0.1:{port}"


@pytest.fixture
def identity_running(runner_factory, rabbit_config):
    runner = runner_factory(rabbit_config, FakeIdentity)
    runner.start()
    return rabbit_config


def test_per_thread_rpc_proxies_work_under_the_edge_worker(tmp_path, identity_running, mongo_uri, db_prefix,
                                                   rabbit_manager):
    proc, base = start_edge(tmp_path, identity_running["AMQP_URI"], mongo_uri, db_prefix, threads=4)
    try:
        def register(i):
            nip = f"1990010120150310{i:02d}"
            return requests.post(f"{base}/api/v1/registrations", json={**REG, "nip": nip}, timeout=20)

        with ThreadPoolExecutor(12) as pool:
            answers = list(pool.map(register, range(48)))
        assert [a.status_code for a in answers] == [201] * 48
        assert answers[0].json()["receipt_url"].startswith(base + "/api/v1/receipts/")
        refused = requests.post(f"{base}/api/v1/registrations", json={**REG, "nik": "bad"}, timeout=20)
        assert refused.status_code == 422 and refused.json()["error"]["code"] == "nik_mismatch"
        vhost = identity_running["AMQP_URI"].rsplit("/", 1)[1]
        replies = [q for q in rabbit_manager.get_queues(vhost) if q["name"].startswith("rpc.reply-standalone")]
        assert 1 <= len(replies) <= 4  # one proxy per thread, reused across 49 requests
    finally:
        stop(proc)


def test_the_server_leaves_x_forwarded_for_to_the_edge(tmp_path, identity_running, mongo_uri, db_prefix,
                                                     monkeypatch):
    """Without trusted proxies (PUPNS_EDGE_PROXY_HOPS=0) a client cannot pick its address by sending
    X-Forwarded-For: the worker must not rewrite the peer address from it (uvicorn would, from 127.0.0.1)."""
    monkeypatch.setenv("PUPNS_EDGE_REGISTRATION_FAILURES_PER_MINUTE", "2")
    monkeypatch.setenv("PUPNS_EDGE_PROXY_HOPS", "0")
    proc, base = start_edge(tmp_path, identity_running["AMQP_URI"], mongo_uri, db_prefix)
    try:
        codes = [requests.post(f"{base}/api/v1/registrations", json={**REG, "nik": "bad"}, timeout=20,
                               headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code for i in range(3)]
        assert codes == [422, 422, 429]  # three "addresses", one peer: its third failure is refused
    finally:
        stop(proc)


def test_missing_service_method_is_501(tmp_path, identity_running, mongo_uri, db_prefix):
    proc, base = start_edge(tmp_path, identity_running["AMQP_URI"], mongo_uri, db_prefix)
    try:
        from pupns.auth import issue_token

        token = issue_token("admin", "admin")["access_token"]
        answer = requests.get(f"{base}/api/v1/admin/progress", headers={"Authorization": f"Bearer {token}"},
                              timeout=20)
        assert answer.status_code == 501 and answer.json()["error"]["code"] == "not_implemented"
    finally:
        stop(proc)


def test_readyz_follows_the_broker(tmp_path, rabbit_config, mongo_uri, db_prefix):
    good, good_base = start_edge(tmp_path, rabbit_config["AMQP_URI"], mongo_uri, db_prefix)
    bad, bad_base = start_edge(tmp_path, f"amqp://guest:guest@127.0.0.1:{free_port()}/", mongo_uri, db_prefix)
    try:
        assert requests.get(f"{good_base}/readyz", timeout=5).status_code == 200
        answer = requests.get(f"{bad_base}/readyz", timeout=5)
        assert answer.status_code == 503 and answer.json()["error"]["code"] == "unavailable"
        assert requests.get(f"{bad_base}/healthz", timeout=5).status_code == 200
        down = requests.post(f"{bad_base}/api/v1/registrations", json=REG, timeout=5)
        assert down.status_code == 503 and down.json()["error"]["code"] == "unavailable"
        assert "Retry-After" in down.headers
    finally:
        stop(good)
        stop(bad)


def test_metrics_sum_every_worker_and_start_empty(tmp_path, rabbit_config, mongo_uri, db_prefix, monkeypatch):
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_1.db").write_bytes(b"left by an earlier run")  # gunicorn.conf empties the directory
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(metrics_dir))
    proc, base = start_edge(tmp_path, rabbit_config["AMQP_URI"], mongo_uri, db_prefix, workers=2, threads=2)
    # What is asserted is the count; a generous read timeout, since `make test` runs three suites on shared cores
    # and a starved worker once took over 5 s to answer /healthz.
    patience = 30
    try:
        sent, deadline = 0, time.monotonic() + 60
        with ThreadPoolExecutor(8) as pool:
            # Until both workers have answered (each writes its own counter file), in bursts of fresh connections.
            while len(list(metrics_dir.glob("counter_*.db"))) < 2:
                assert time.monotonic() < deadline, "one worker answered every request"
                answers = list(pool.map(lambda _: requests.get(f"{base}/healthz", timeout=patience).status_code,
                                        range(16)))
                assert answers == [200] * 16
                sent += 16
        line = re.compile(r'^pupns_edge_requests_total\{route="/healthz",status="200"\} (\S+)$', re.M)
        for _ in range(6):  # whichever worker answers /metrics, it counts every worker's requests
            text = requests.get(f"{base}/metrics", timeout=patience).text
            assert float(line.search(text).group(1)) == sent
            assert re.search(r'^pupns_edge_request_seconds_count\{route="/healthz"\} (\S+)$', text, re.M)
            assert re.search(r"^pupns_edge_capacity \S+$", text, re.M)  # the answering worker's admission state
    finally:
        stop(proc)
