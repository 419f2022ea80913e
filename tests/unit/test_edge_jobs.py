"""Long work at the edge: 202 + job, the job resource, `Prefer: wait=N`, the same job for the same key."""
from __future__ import annotations

from pupns.errors import AppError
from tests.unit.test_edge_errors import FakeBackend, bearer, make_client

JOB_ID = "identity-" + "a" * 32
STATUS_URL = f"/api/v1/admin/jobs/{JOB_ID}"
ADMIN = bearer("admin", "admin", None)


def job(status: str = "queued", done: int = 0, result: dict | None = None) -> dict:
    return {"id": JOB_ID, "kind": "roster_import", "status": status, "progress": {"done": done, "total": 4500},
            "result": result, "error": None, "created_at": "2026-12-02T10:00:00+00:00",
            "finished_at": None if status != "done" else "2026-12-02T10:01:00+00:00", "status_url": STATUS_URL}


def roster_backend(staged: list, polls: list[dict] | None = None) -> FakeBackend:
    def stage(upload_id, chunks, actor):
        staged.extend((upload_id, c["n"], c["rows"], c["lines"][:2]) for c in chunks)
        return {"staged": len(chunks)}

    answers = list(polls or [])
    return FakeBackend(**{"identity.stage_roster_chunks": stage, "identity.start_roster_import": job(),
                          "identity.get_job": lambda *a: answers.pop(0) if len(answers) > 1 else answers[0]})


def roster_body(rows: int = 4500) -> str:
    return "nip,golongan\n" + "\n".join(f"{i:018d},31" for i in range(rows)) + "\n"


def test_a_roster_upload_is_staged_in_chunks_and_answered_202_with_its_job():
    staged: list = []
    client, backend, _ = make_client(roster_backend(staged))
    answer = client.post("/api/v1/admin/roster", data=roster_body(), content_type="text/csv", headers=ADMIN)
    assert answer.status_code == 202 and answer.json == {"job_id": JOB_ID, "status_url": STATUS_URL}
    assert answer.headers["Location"] == STATUS_URL
    assert [(n, rows) for _, n, rows, _ in staged] == [(0, 1000), (1, 1000), (2, 1000), (3, 1000), (4, 500)]
    assert staged[1][3] == [(1, 1), (2, 1002)]  # chunk line -> file line, kept for rejections
    assert len({upload for upload, *_ in staged}) == 1
    start = backend.calls[-1]
    assert start[:3] == ("identity", "start_roster_import", (staged[0][0], {"id": "admin", "role": "admin",
                                                                           "instansi_kode": None}))


def test_prefer_wait_answers_200_with_the_finished_job_and_says_so():
    done = job("done", 4500, {"imported": 4500, "unchanged": 0, "rejected": []})
    client, _, _ = make_client(roster_backend([], [job("running", 2000), done]))
    answer = client.post("/api/v1/admin/roster", data=roster_body(), content_type="text/csv",
                         headers={**ADMIN, "Prefer": "wait=5"})
    assert answer.status_code == 200 and answer.json["result"]["imported"] == 4500
    assert answer.headers["Preference-Applied"] == "wait=5"


def test_prefer_wait_that_runs_out_is_still_202_and_large_waits_are_clamped(monkeypatch):
    from edge.http import jobs

    waited: list[float] = []
    clock = iter(range(0, 1000, 7))
    monkeypatch.setattr(jobs.time, "monotonic", lambda: float(next(clock)))
    monkeypatch.setattr(jobs.time, "sleep", waited.append)
    client, _, _ = make_client(roster_backend([], [job("running", 10)]))
    answer = client.post("/api/v1/admin/roster", data=roster_body(10), content_type="text/csv",
                         headers={**ADMIN, "Prefer": "respond-async, wait=3600"})
    assert answer.status_code == 202 and answer.json["job_id"] == JOB_ID
    assert answer.headers["Preference-Applied"] == "wait=60"
    assert waited  # it did wait (within the clamped 60 s), then answered honestly that work goes on


def test_job_resource_is_admin_only_and_unknown_ids_are_404():
    client, backend, _ = make_client(FakeBackend(**{"identity.get_job": job("running", 100)}))
    answer = client.get(STATUS_URL, headers=ADMIN)
    assert answer.status_code == 200 and answer.json["progress"] == {"done": 100, "total": 4500}
    assert client.get(STATUS_URL, headers=bearer("verifier")).status_code == 403
    assert client.get(STATUS_URL, headers=bearer()).status_code == 403
    assert client.get("/api/v1/admin/jobs/forms-123", headers=ADMIN).json["error"]["code"] == "not_found"
    assert len(backend.calls) == 1
    backend.answers["identity.get_job"] = AppError("not_found")
    assert client.get("/api/v1/admin/jobs/identity-" + "b" * 32, headers=ADMIN).status_code == 404


def test_close_answers_202_and_the_same_idempotency_key_gives_the_same_job():
    client, backend, _ = make_client(FakeBackend(**{"identity.close_campaign": {**job(), "kind": "campaign_close"}}))
    first = client.post("/api/v1/admin/campaign/close", headers={**ADMIN, "Idempotency-Key": "tutup-1"})
    again = client.post("/api/v1/admin/campaign/close", headers={**ADMIN, "Idempotency-Key": "tutup-1"})
    assert first.status_code == again.status_code == 202 and first.json == again.json
    assert backend.calls == [("identity", "close_campaign", ({"id": "admin", "role": "admin", "instansi_kode": None},),
                              {"idempotency_key": "tutup-1"})]


def test_a_start_whose_answer_was_lost_is_asked_again_with_the_same_key_not_answered_503(monkeypatch):
    from pupns import roster_upload

    monkeypatch.setattr(roster_upload.time, "sleep", lambda seconds: None)
    answers = [AppError("unavailable"), {**job(), "kind": "campaign_close"}]
    client, backend, _ = make_client(FakeBackend(**{"identity.close_campaign": lambda *a, **k: (
        answers.pop(0) if isinstance(answers[0], dict) else (_ for _ in ()).throw(answers.pop(0)))}))
    answer = client.post("/api/v1/admin/campaign/close", headers=ADMIN)
    assert answer.status_code == 202 and answer.json["job_id"] == JOB_ID
    keys = [call[3]["idempotency_key"] for call in backend.calls]
    assert len(keys) == 2 and keys[0] == keys[1] and keys[0].startswith("auto-")


AUDIT_ID = "identity-audit-" + "b" * 32
AUDIT_URL = f"/api/v1/admin/jobs/{AUDIT_ID}"
REPORT = {"streams_checked": 9, "events_checked": 21,
          "broken": [{"service": "forms", "stream": "x", "version": 1, "reason": "hash_mismatch"}],
          "services": {"forms": {"streams_checked": 1, "events_checked": 1, "broken": 1}}}


def audit_job(status: str, result: dict | None = None, error: dict | None = None) -> dict:
    return {"id": AUDIT_ID, "kind": "audit_verify", "status": status, "progress": {"done": 0, "total": 21},
            "result": result, "error": error, "created_at": "2026-12-02T10:00:00+00:00", "finished_at": None,
            "status_url": AUDIT_URL}


def audit_backend(*polls: dict) -> FakeBackend:
    answers = list(polls)
    return FakeBackend(**{"identity.start_audit_verify": audit_job("queued"),
                          "identity.get_job": lambda *a: answers.pop(0) if len(answers) > 1 else answers[0]})


def test_audit_verify_answers_200_with_exactly_the_three_fields_when_the_job_ends_within_the_wait():
    client, backend, _ = make_client(audit_backend(audit_job("running"), audit_job("done", REPORT)))
    answer = client.get("/api/v1/admin/audit/verify", headers={**ADMIN, "Idempotency-Key": "chk-1"})
    assert answer.status_code == 200 and "Preference-Applied" not in answer.headers
    assert answer.json == {key: REPORT[key] for key in ("streams_checked", "events_checked", "broken")}
    assert backend.calls[0] == ("identity", "start_audit_verify", ({"id": "admin", "role": "admin",
                                                                     "instansi_kode": None},),
                                {"idempotency_key": "chk-1"})
    assert [c[1] for c in backend.calls].count("get_job") == 2


def test_audit_verify_with_prefer_wait_0_answers_202_at_once_and_the_job_resource_shows_its_result():
    client, backend, _ = make_client(audit_backend(audit_job("done", REPORT)))
    answer = client.get("/api/v1/admin/audit/verify", headers={**ADMIN, "Prefer": "wait=0"})
    assert answer.status_code == 202 and answer.json == {"job_id": AUDIT_ID, "status_url": AUDIT_URL}
    assert answer.headers["Location"] == AUDIT_URL and answer.headers["Preference-Applied"] == "wait=0"
    assert "get_job" not in [c[1] for c in backend.calls]
    shown = client.get(AUDIT_URL, headers=ADMIN)
    assert shown.status_code == 200 and shown.json["kind"] == "audit_verify" and shown.json["result"] == REPORT


def test_audit_verify_whose_default_wait_runs_out_answers_202(monkeypatch):
    from edge.http import jobs

    clock = iter(range(0, 1000))
    monkeypatch.setattr(jobs.time, "monotonic", lambda: float(next(clock)))
    monkeypatch.setattr(jobs.time, "sleep", lambda seconds: None)
    client, _, _ = make_client(audit_backend(audit_job("running")))
    answer = client.get("/api/v1/admin/audit/verify", headers=ADMIN)
    assert answer.status_code == 202 and answer.json["job_id"] == AUDIT_ID


def test_a_failed_audit_job_answers_its_error_in_the_envelope():
    failed = audit_job("failed", error={"code": "unavailable", "message": "Layanan forms tidak menjawab."})
    client, _, _ = make_client(audit_backend(failed))
    answer = client.get("/api/v1/admin/audit/verify", headers=ADMIN)
    assert answer.status_code == 503 and answer.json["error"]["code"] == "unavailable"
    assert answer.json["error"]["message"] == "Layanan forms tidak menjawab."


def test_audit_verify_is_for_administrators_only():
    client, backend, _ = make_client(audit_backend(audit_job("done", REPORT)))
    answer = client.get("/api/v1/admin/audit/verify", headers=bearer("verifier", "verif.a", "A01"))
    assert answer.status_code == 403 and answer.json["error"]["code"] == "forbidden" and not backend.calls
