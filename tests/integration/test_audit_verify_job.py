"""`GET /api/v1/admin/audit/verify` through the platform: identity's job pages through every service's log (the
others over RPC) and the edge answers 200 with the spec's three fields, or 202 while the job goes on."""
from __future__ import annotations

import pytest
from werkzeug.test import Client

from documents.service import DocumentsService
from edge.http.app import create_app
from edge.settings import Settings
from edge.storage.store import MemoryEdgeStore
from forms.service import FormsService
from identity.service import IdentityService
from notifications.service import NotificationsService
from pupns import audit
from pupns.auth import issue_token
from pupns.eventstore import EventStore, NewEvent
from pupns_dev.waiting import wait_until
from verification.service import VerificationService

ADMIN = {"Authorization": "Bearer " + issue_token("admin", "admin", None)["access_token"]}
KEYS = {"streams_checked", "events_checked", "broken"}


@pytest.fixture
def edge(runner_factory, rabbit_config, db_prefix, monkeypatch):
    runner_factory(rabbit_config, IdentityService, FormsService, VerificationService, DocumentsService,
                   NotificationsService).start()
    monkeypatch.setenv("PUPNS_AMQP_URI", rabbit_config["AMQP_URI"])
    app = create_app(store=MemoryEdgeStore(), settings=Settings(background=False))
    yield Client(app), app.backend
    app.backend.close()


@pytest.fixture
def logs(edge, mongo_client, db_prefix):
    """A few streams in identity's and forms' logs (appended directly: nothing else writes meanwhile)."""
    stores = {s: EventStore(mongo_client[db_prefix + s], s) for s in ("identity", "forms")}
    for service, store in stores.items():
        for n in range(5):
            store.append(f"{service}-test-{n}", 0, [NewEvent("A", {"n": n}), NewEvent("B", {"n": n})])
    return stores


def finished(client: Client, status_url: str) -> dict:
    """The job once it ended (polled with a deadline)."""
    def ended() -> dict | None:
        job = client.get(status_url, headers=ADMIN).json
        return job if job["status"] in ("done", "failed") else None
    return wait_until(ended, timeout=30, interval=0.1, message="audit job ended")


def test_a_small_log_answers_200_with_the_three_fields_and_the_figures_of_the_direct_check(edge, logs):
    client, backend = edge
    answer = client.get("/api/v1/admin/audit/verify", headers=ADMIN)
    assert answer.status_code == 200, answer.json
    assert set(answer.json) == KEYS and answer.json["broken"] == []
    assert answer.json["events_checked"] >= 20 and answer.json["streams_checked"] >= 10
    direct = audit.verify_every_chain(backend)  # page by page over RPC, outside any job
    assert {k: direct[k] for k in KEYS} == answer.json
    again = client.get("/api/v1/admin/audit/verify", headers=ADMIN).json
    assert again == answer.json  # the audit's own job events are checked, not counted: asking changes nothing


def test_prefer_wait_0_answers_202_and_the_jobs_result_equals_the_direct_figures(edge, logs):
    client, backend = edge
    answer = client.get("/api/v1/admin/audit/verify", headers={**ADMIN, "Prefer": "wait=0",
                                                                "Idempotency-Key": "audit-1"})
    assert answer.status_code == 202 and set(answer.json) == {"job_id", "status_url"}
    assert answer.headers["Location"] == answer.json["status_url"]
    job = finished(client, answer.json["status_url"])
    assert job["kind"] == "audit_verify" and job["status"] == "done", job
    assert job["progress"]["done"] == job["result"]["events_checked"] and job["progress"]["total"] > 0
    direct = audit.verify_every_chain(backend)
    assert {k: job["result"][k] for k in KEYS} == {k: direct[k] for k in KEYS}
    assert job["result"]["services"]["forms"]["events_checked"] == direct["services"]["forms"]["events_checked"]
    repeat = client.get("/api/v1/admin/audit/verify", headers={**ADMIN, "Prefer": "wait=0",
                                                                "Idempotency-Key": "audit-1"})
    assert repeat.json["job_id"] == answer.json["job_id"]  # the same key, the same job


def test_an_altered_event_appears_in_broken_naming_its_service(edge, logs):
    client, _ = edge
    logs["forms"].events.update_one({"stream": "forms-test-3", "version": 2}, {"$set": {"data.n": 42}})
    answer = client.get("/api/v1/admin/audit/verify", headers={**ADMIN, "Prefer": "wait=30"})
    assert answer.status_code == 200 and set(answer.json) == KEYS
    assert answer.json["broken"] == [{"service": "forms", "stream": "forms-test-3", "version": 2,
                                      "reason": "hash_mismatch"}]


def test_a_verifier_gets_the_spec_error_envelope(edge):
    client, _ = edge
    verifier = {"Authorization": "Bearer " + issue_token("verif.a", "verifier", "A01")["access_token"]}
    answer = client.get("/api/v1/admin/audit/verify", headers=verifier)
    assert answer.status_code == 403 and answer.json["error"]["code"] == "forbidden"
    assert answer.json["error"]["message"]


def test_a_key_sent_before_with_another_job_does_not_hand_back_that_job(edge, logs):
    client, _ = edge
    shared = {**ADMIN, "Idempotency-Key": "shared-key-1", "Prefer": "wait=0"}
    csv = {**shared, "Content-Type": "text/csv"}
    importing = client.post("/api/v1/admin/roster", data=b"nip,nik\n1,2\n", headers=csv)
    assert importing.status_code == 202, importing.json  # a roster import's job (its header is rejected)
    answer = client.get("/api/v1/admin/audit/verify", headers=shared)
    assert answer.status_code == 202 and answer.json["job_id"] != importing.json["job_id"]
    assert finished(client, answer.json["status_url"])["kind"] == "audit_verify"
