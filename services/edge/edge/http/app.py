"""The edge WSGI application: one error path, auth, admission control, idempotency, then thin handlers.

Also the edge's composition root: `create_app` wires settings, RPC, store, surge control and metrics once per
process; `app` below calls it on the first request, after gunicorn's fork (edge.http.server serves `app` from
its thread pool and answers a full edge's turn-aways on its event loop).
"""
from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.wrappers import Request, Response

from edge.http import bodies, jobs, openapi
from edge.http.auth import actor_from_request, authorize
from edge.http.responses import error_response, json_response
from edge.http.routes import V1, api_routes
from edge.http.routing import Ctx, Route, build_map
from edge.http.web.site import Site
from edge.operations import health, metrics
from edge.operations.metrics import Metrics
from edge.rpc import Backend, NamekoBackend
from edge.settings import Settings
from edge.storage import idempotency
from edge.storage.store import MemoryEdgeStore, MongoEdgeStore
from edge.surge import tickets
from edge.surge.admission import Admission
from edge.surge.monitor import Monitor, QueueDepthProbe
from edge.surge.ratelimit import Limiter
from edge.surge.waiting import waiting_page, wants_html
from pupns import config
from pupns.errors import AppError, error_envelope
from pupns.revocation import Revocations

log = logging.getLogger("edge")
HTTP_CODES = {400: "bad_request", 413: "too_large", 415: "unsupported_type", 404: "not_found"}
INTERNAL_ONLY = ("/healthz", "/readyz", "/metrics")  # probes and Prometheus reach the pods directly


class EdgeApp:
    """A WSGI callable; everything it talks to is injected so tests can swap in fakes."""

    def __init__(self, backend: Backend, store: MongoEdgeStore | MemoryEdgeStore, settings: Settings,
                 amqp_uri: str, mongo_uri: str, limiter: Limiter | None = None,
                 revocations: Revocations | None = None) -> None:
        self.backend, self.store, self.settings = backend, store, settings
        self.revocations = revocations  # disabled staff accounts (None: no revocation check, unit tests)
        self.amqp_uri, self.mongo_uri = amqp_uri, mongo_uri
        self.metrics = Metrics()
        self.ready = health.Readiness()
        self.admission = Admission(settings, store)
        self.admission.on_turn_away = self.metrics.turned_away_because
        self.limiter = limiter or Limiter(settings, store)  # shared with the other edge processes by the monitor
        if isinstance(backend, NamekoBackend):
            backend.observer = self.admission
        probe = QueueDepthProbe(settings.rabbit_api, amqp_uri) if settings.background else None
        self.monitor = Monitor(self.admission, probe, self.limiter, settings.rate_sync_seconds)
        self.routes = self._ops_routes() + api_routes()
        self.site = Site()  # the PNS web pages and /static: routed like ops, never queued, not in openapi.json
        routed = self.routes + self.site.routes()
        self.by_endpoint = {r.endpoint: r for r in routed}
        # Queued routes without path parameters: an anonymous call of one needs only the newcomers' gate.
        self.queued = {(r.method, r.path) for r in self.routes if r.queued and "<" not in r.path}
        self.url_map = build_map(routed)

    def _ops_routes(self) -> list[Route]:
        return [Route("GET", "/healthz", self.healthz, ops=True),
                Route("GET", "/readyz", self.readyz, ops=True, errors=("unavailable",)),
                Route("GET", "/metrics", self.metrics_text, ops=True, produces="text/plain"),
                Route("GET", f"{V1}/openapi.json", self.openapi_json, ops=True)]

    def __call__(self, environ: dict, start_response: Any) -> Any:
        if self.settings.background:  # started by the first request of any kind (after gunicorn forks)
            self.monitor.ensure_started()
        shed = self.shed(environ)
        if shed is not None:
            start_response(f"{shed[0]} SERVICE UNAVAILABLE", shed[1])
            return [shed[2]]
        return self.dispatch(Request(environ))(environ, start_response)

    def shed(self, environ: dict, pending: int = 0) -> tuple[int, list[tuple[str, str]], bytes] | None:
        """The 503 `queue` answer (status, headers, body) of an API call that could not enter anyway, before
        routing or JWT work; None when it might enter. Reads only the method, path, Accept, Authorization,
        ticket header and cookie (edge.http.server calls it on its event loop, with the `pending` calls it has
        handed to threads that have not reached admission yet)."""
        path = environ.get("PATH_INFO", "")
        if not path.startswith(V1 + "/") or path == f"{V1}/openapi.json":
            return None
        if "text/html" in environ.get("HTTP_ACCEPT", ""):
            return None  # a browser gets the waiting page from the full path
        session = bool(environ.get("HTTP_AUTHORIZATION")) or (environ.get("REQUEST_METHOD"), path) not in self.queued
        if not self.admission.full(session, pending):
            return None
        started = time.monotonic()
        cookie = []
        if environ.get("HTTP_AUTHORIZATION"):
            body, retry_after = self.admission.session_shed_body(), "1"
        else:  # a holder keeps the place, a newcomer gets the back of the line: no MongoDB operation either way
            presented = environ.get(tickets.ENVIRON_KEY) or _cookie(environ)
            now = self.admission.wall()
            queue = self.admission.queue_place(self.admission.holder(presented, now), now)
            body = json.dumps(error_envelope("queue", extra={"queue": queue}), ensure_ascii=False).encode()
            retry_after = str(queue["retry_after"])
            cookie = [("Set-Cookie", self._ticket_cookie(queue["ticket"]))]
        self.admission.count_turned_away()  # also tells the limit that it was used up
        self.metrics.turned_away_at_once(time.monotonic() - started)
        headers = [("Content-Type", "application/json; charset=utf-8"), ("Content-Length", str(len(body))),
                   ("Retry-After", retry_after), ("Cache-Control", "no-store"), *cookie]
        return 503, headers, body

    def dispatch(self, request: Request) -> Response:
        """Route, run, and turn every failure into the one envelope."""
        started, label, response = time.monotonic(), "unmatched", None
        self.metrics.started()
        try:
            try:
                endpoint, params = self.url_map.bind_to_environ(request.environ).match()
            except MethodNotAllowed as exc:
                allow = ", ".join(sorted(exc.valid_methods or ()))
                response = error_response(AppError("method_not_allowed"), {"Allow": allow})
                return response
            except NotFound:
                raise AppError("not_found", "Alamat tidak ditemukan.") from None
            route = self.by_endpoint[endpoint]
            label = route.path
            response = self._ops(request, route) if route.ops else self._api(request, route, params)
        except AppError as exc:
            response = error_response(exc)
        except HTTPException as exc:
            response = error_response(AppError(HTTP_CODES.get(exc.code or 400, "bad_request")))
        except Exception:
            log.exception("unhandled error on %s %s", request.method, request.path)
            response = error_response(AppError("internal_error"))
        finally:
            status = response.status_code if response is not None else 500
            self.metrics.finished(label, status, time.monotonic() - started)
        return response

    def _ops(self, request: Request, route: Route) -> Response:
        if route.path in INTERNAL_ONLY and self.settings.proxy_hops and "X-Forwarded-For" in request.headers:
            # Relayed by the public proxy: health and metrics are for the internal network only (SPEC §4).
            raise AppError("not_found", "Alamat tidak ditemukan.")
        return route.handler(Ctx(request, None, {}, self.backend, self.settings))

    def _api(self, request: Request, route: Route, params: dict[str, Any]) -> Response:
        try:
            actor = actor_from_request(request, self.revocations)
        except AppError:
            if route.roles:
                raise
            actor = None  # a stale token on a public route is not an error, just no bypass
        authorize(actor, route.roles)
        if actor is not None:
            try:
                self.limiter.check_user(actor["id"])
            except AppError:
                self.metrics.rejected("rate_limited")
                raise
        ticket = request.headers.get(tickets.HEADER) or request.cookies.get(tickets.COOKIE)
        try:
            self.admission.enter(ticket, session=not route.queued or actor is not None)
        except AppError as exc:
            self.metrics.rejected(exc.code)
            return self._turned_away(request, exc)
        try:
            response = self._execute(request, route, params, actor)
        finally:
            self.admission.leave()
        if not route.job:
            return response
        return jobs.honour_wait(request, response, self.backend, actor, route.wait, route.result_keys)

    def _turned_away(self, request: Request, exc: AppError) -> Response:
        queue = exc.extra.get("queue")
        if not queue:
            return error_response(exc)
        response = waiting_page(queue) if wants_html(request) else error_response(exc)
        response.headers["Set-Cookie"] = self._ticket_cookie(queue["ticket"])
        return response

    def _ticket_cookie(self, ticket: str) -> str:
        return tickets.cookie(ticket, self.settings.ticket_ttl, time.time())

    def _execute(self, request: Request, route: Route, params: dict[str, Any], actor: dict | None) -> Response:
        key = request.headers.get("Idempotency-Key")
        ctx = Ctx(request, actor, params, self.backend, self.settings, key, self.limiter)

        def run() -> Response:
            try:
                return self._to_response(route, route.handler(ctx))
            except AppError as exc:
                return error_response(exc)

        if not key or request.method not in idempotency.UNSAFE:
            return run()
        owner = actor["id"] if actor else "anonymous"
        return idempotency.run_once(self.store, owner, key, request, self._raw_body(request, route), run)

    def _raw_body(self, request: Request, route: Route) -> bytes:
        """The body, read once within the route's limit (so idempotency can fingerprint it)."""
        if route.body == "multipart":
            limit = self.settings.max_upload_bytes() + 64 * 1024
            if request.content_length is not None and request.content_length > limit:
                raise AppError("too_large")
            request.max_content_length = limit
            return request.get_data(cache=True, parse_form_data=False)
        limit = self.settings.max_csv_bytes if route.body == "csv" else self.settings.max_json_bytes
        return bodies.read_capped(request, limit)

    @staticmethod
    def _to_response(route: Route, result: Any) -> Response:
        if isinstance(result, Response):
            return result
        if isinstance(result, tuple):
            return json_response(result[1], result[0])
        return json_response(result if result is not None else {}, route.status)

    # -- operations -----------------------------------------------------------------
    def healthz(self, ctx: Ctx) -> Response:
        """GET /healthz: the process answers."""
        return json_response({"status": "ok"})

    def readyz(self, ctx: Ctx) -> Response:
        """GET /readyz: broker and store answer within about a second (answer cached for at most a second)."""
        return health.readiness(self.ready.results(self.amqp_uri, self.mongo_uri))

    def metrics_text(self, ctx: Ctx) -> Response:
        """GET /metrics: Prometheus text."""
        a = self.admission
        gauges = {"pupns_edge_capacity": round(a.limit, 2), "pupns_edge_admitted_in_flight": a.inflight,
                  "pupns_edge_rpc_queue_depth": a.queue_depth,
                  "pupns_edge_queue_serving_rate": round(a.serving_rate, 3),
                  "pupns_edge_queue_waiting": a.line.waiting(),
                  "pupns_edge_backend_latency_baseline_seconds": round(a.baseline or 0.0, 6),
                  "pupns_edge_backend_latency_median_seconds": round(a.median, 6)}
        return Response(self.metrics.render(lambda: gauges), content_type=metrics.CONTENT_TYPE)

    def openapi_json(self, ctx: Ctx) -> Response:
        """GET /api/v1/openapi.json."""
        return json_response(openapi.document(self.routes))


def create_app(backend: Backend | None = None, store: MongoEdgeStore | MemoryEdgeStore | None = None,
               settings: Settings | None = None) -> EdgeApp:
    """The one place the edge is wired: real RPC and MongoDB unless fakes are given."""
    config.require_production_secrets("edge")
    settings = settings or Settings()
    amqp_uri, mongo_uri = config.amqp_uri(), config.mongo_uri("edge")
    revocations = None
    if backend is None:
        backend = NamekoBackend(amqp_uri)
        revocations = Revocations(lambda: backend.call("identity", "revoked_staff"))
    return EdgeApp(backend, store or MongoEdgeStore(mongo_uri), settings, amqp_uri, mongo_uri,
                   revocations=revocations)


def _cookie(environ: dict) -> str | None:
    """The queue ticket cookie, without building a Request."""
    raw = environ.get("HTTP_COOKIE", "")
    if tickets.COOKIE not in raw:
        return None
    for part in raw.split(";"):
        name, _, value = part.strip().partition("=")
        if name == tickets.COOKIE:
            return value.strip('"')
    return None


class LazyApp:
    """The module-level WSGI callable: wires the edge on first use, after gunicorn has forked."""

    def __init__(self) -> None:
        self._app: EdgeApp | None = None
        self._lock = threading.Lock()

    def built(self) -> EdgeApp | None:
        """The wired edge, or None before the first request has wired it."""
        return self._app

    def __call__(self, environ: dict, start_response: Any) -> Any:
        if self._app is None:
            with self._lock:
                if self._app is None:
                    self._app = create_app()
        return self._app(environ, start_response)


app = LazyApp()
