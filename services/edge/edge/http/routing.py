"""The route table's building blocks: a Route per (method, path) and the context handlers receive."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from marshmallow import Schema
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from edge.rpc import Backend
from edge.settings import Settings
from pupns.actors import Actor

PNS = ("pns",)
VERIFIER = ("verifier", "admin")
ADMIN = ("admin",)


@dataclass
class Ctx:
    """What a handler gets: the request, its actor, path parameters and the back end."""

    request: Request
    actor: Actor | None
    params: dict[str, Any]
    backend: Backend
    settings: Settings
    idempotency_key: str | None = None
    limiter: Any = None


Handler = Callable[[Ctx], "Response | tuple[int, Any]"]


@dataclass
class Route:
    """One row of SPEC §4: who may call it, what it takes, what it answers (also feeds openapi.json)."""

    method: str
    path: str
    handler: Handler
    roles: tuple[str, ...] | None = None
    queued: bool = False  # subject to admission control (public, surge-facing)
    body: str | None = None  # "json", "json|form", "csv", "multipart", "section" or None
    schema: type[Schema] | None = None
    response: type[Schema] | None = None
    status: int = 200
    produces: str = "application/json"
    errors: tuple[str, ...] = ()
    summary: str = ""
    ops: bool = False  # health, metrics: no auth, no admission, not counted as API traffic
    query: tuple[str, ...] = ()
    headers: tuple[str, ...] = field(default=())
    job: bool = False  # answers 202 {job_id, status_url}, or 200 with the job when `Prefer: wait=N` sees it end
    wait: float = 0.0  # a job route's wait without `Prefer: wait=N` (seconds)
    result_keys: tuple[str, ...] = ()  # a job route answering 200 with these keys of the job's result, not the job

    @property
    def endpoint(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def documented_errors(self) -> tuple[str, ...]:
        """The route's own error codes plus those every route of its kind can answer: a reused Idempotency-Key
        with another body, a busy back end (503 unavailable), admission control and per-user rate limits."""
        implied = ["unavailable"]
        if "Idempotency-Key" in self.headers:
            implied.append("idempotency_conflict")
        if self.queued:
            implied.append("queue")
        if self.roles:
            implied.append("rate_limited")
        return tuple(dict.fromkeys([*self.errors, *implied]))


def build_map(routes: list[Route]) -> Map:
    """A Werkzeug Map whose endpoints are the Route objects' `endpoint` names."""
    return Map([Rule(r.path, methods=[r.method], endpoint=r.endpoint) for r in routes],
               strict_slashes=False, merge_slashes=False)
