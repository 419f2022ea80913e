"""Jobs at the edge (SPEC §4 "Long work"): 202 `{job_id, status_url}`, the job resource, `Prefer: wait=N`."""
from __future__ import annotations

import json
import re
import time
from typing import Any

from werkzeug.wrappers import Request, Response

from edge.http.responses import error_response, json_response
from edge.http.routing import Ctx
from edge.rpc import Backend
from pupns.actors import Actor
from pupns.errors import AppError

MAX_WAIT_SECONDS = 60  # RFC 7240 `wait`: a larger value is clamped, never refused
POLL_SECONDS = 0.25
FINAL = ("done", "failed")
OWNERS = ("identity",)  # services that run jobs; a job id starts with its service's name
WAIT = re.compile(r"^\s*wait\s*=\s*\"?(\d+(?:\.\d+)?)\"?\s*$", re.IGNORECASE)


def accepted(job: dict) -> Response:
    """202 for work that goes on: where to follow it."""
    return json_response({"job_id": job["id"], "status_url": job["status_url"]}, 202,
                         {"Location": job["status_url"]})


def owner_of(job_id: str) -> str:
    """The service holding a job; 404 `not_found` for an id no service could have issued."""
    service = job_id.split("-", 1)[0]
    if service not in OWNERS or not re.fullmatch(r"[a-z]+-(?:[a-z]+-)?[0-9a-f]{32}", job_id):
        raise AppError("not_found", "Pekerjaan tidak ditemukan.")
    return service


def get_job(ctx: Ctx) -> Any:
    """GET /api/v1/admin/jobs/<id>: status, progress and result of a job."""
    job_id = ctx.params["id"]
    return ctx.backend.call(owner_of(job_id), "get_job", job_id, ctx.actor)


def requested_wait(request: Request) -> int | None:
    """Seconds of `Prefer: wait=N` (clamped to 60), or None when the client did not ask to wait."""
    for header in request.headers.getlist("Prefer"):
        for preference in header.split(","):
            match = WAIT.match(preference.split(";", 1)[0])
            if match:
                return min(int(float(match.group(1))), MAX_WAIT_SECONDS)
    return None


def _job_in(response: Response) -> dict | None:
    if response.status_code not in (200, 202) or not response.mimetype == "application/json":
        return None
    try:
        body = json.loads(response.get_data())
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    if response.status_code == 202 and isinstance(body.get("job_id"), str):
        return {"id": body["job_id"], "status": "queued"}
    if {"id", "kind", "status", "progress"} <= body.keys():
        return body
    return None


def honour_wait(request: Request, response: Response, backend: Backend, actor: Actor | None,
                default_wait: float = 0.0, result_keys: tuple[str, ...] = ()) -> Response:
    """Hold a job answer until the job ends or `Prefer: wait=N` (else `default_wait`) runs out, outside admission
    control. With `result_keys`, a job that ended answers 200 with these keys of its result (its error, when it
    failed) instead of the job."""
    asked = requested_wait(request)
    wait = asked if asked is not None else default_wait
    job = _job_in(response) if wait or asked is not None else None
    if job is None:
        return response
    deadline, latest = time.monotonic() + wait, job
    try:
        while latest.get("status") not in FINAL and time.monotonic() < deadline:
            time.sleep(min(POLL_SECONDS, max(deadline - time.monotonic(), 0)))
            latest = backend.call(owner_of(job["id"]), "get_job", job["id"], actor)
    except AppError:
        pass  # the back end is busy: the answer in hand is still true
    applied = {"Preference-Applied": f"wait={asked}"} if asked is not None else {}
    if result_keys and latest.get("status") == "failed":
        error = latest.get("error") or {}
        return error_response(AppError(error.get("code") or "internal_error", error.get("message")), applied)
    if result_keys and latest.get("status") == "done":
        result = latest.get("result") or {}
        return json_response({key: result.get(key) for key in result_keys}, 200, applied)
    if latest.get("status") in FINAL or response.status_code == 200:
        return json_response(latest, 200, applied)
    response.headers.update(applied)
    return response
