"""The verifier console WSGI app (`gunicorn -k gthread --threads 8 console.app:app`)."""
from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound, RequestEntityTooLarge
from werkzeug.routing import Map, Rule
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from console import account, admin, session, settings, views
from console.rpc import Backend
from pupns import config, csvexport, devices
from pupns.errors import AppError
from pupns.revocation import Revocations

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
STATIC_TYPES = {"console.css": "text/css", "job.js": "text/javascript"}  # the files /static/ serves
FLASH = {
    "dikonfirmasi": "Pendaftaran NIP {nip} telah dikonfirmasi.",
    "ditolak": "Pendaftaran NIP {nip} telah ditolak.",
    "disetujui": "Pengajuan data NIP {nip} telah disetujui.",
    "dikembalikan": "Pengajuan data NIP {nip} telah dikembalikan dengan catatan.",
    "keluar": "Anda telah keluar.",
    "sesi_berakhir": "Sesi Anda telah berakhir. Silakan masuk kembali.",
}
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; form-action 'self'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

URLS = Map([
    Rule("/", endpoint="home"),
    Rule("/healthz", endpoint="healthz"),
    Rule("/static/<name>", endpoint="static"),
    Rule("/login", endpoint="login", methods=["GET", "POST"]),
    Rule("/logout", endpoint="logout", methods=["POST"]),
    Rule("/registrations", endpoint="registrations"),
    Rule("/registrations/<nip>/confirm", endpoint="confirm", methods=["POST"]),
    Rule("/registrations/<nip>/reject", endpoint="reject", methods=["POST"]),
    Rule("/submissions", endpoint="submissions"),
    Rule("/submissions.csv", endpoint="submissions_csv"),
    Rule("/submissions/<nip>", endpoint="submission"),
    Rule("/submissions/<nip>/approve", endpoint="approve", methods=["POST"]),
    Rule("/submissions/<nip>/return", endpoint="return_", methods=["POST"]),
    Rule("/documents/<document_id>", endpoint="document"),
    *admin.RULES,
    *account.RULES,
])


def html(page: str, status: int = 200) -> Response:
    return Response(page, status=status, mimetype="text/html")


LOGIN_FORM_BYTES = 16 * 1024  # the login form: a username, a password and a nonce


class Console(admin.AdminRoutes, account.AccountRoutes):
    """Routes a request to a page; staff pages need a valid session, every POST a valid CSRF token."""

    def __init__(self, backend: Backend | None = None, revocations: Revocations | None = None):
        if backend is None:  # the real wiring: disabled staff accounts lose their sessions within seconds
            config.require_production_secrets("console")
            backend = Backend(component="console")
            revocations = revocations or Revocations(lambda: backend.call("identity", "revoked_staff"))
        self.backend, self.revocations = backend, revocations

    def __call__(self, environ, start_response):
        response = self.handle(Request(environ))
        response.headers.extend({k: v for k, v in SECURITY_HEADERS.items() if k not in response.headers})
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:
        adapter = URLS.bind_to_environ(request.environ)
        user = csrf = None
        try:
            endpoint, args = adapter.match()
            if endpoint in ("healthz", "static", "login"):
                request.max_content_length = LOGIN_FORM_BYTES  # before anyone is known, no large body is parsed
                return getattr(self, endpoint)(request, **args)
            token = request.cookies.get(session.SESSION_COOKIE)
            user = session.staff_claims(token)
            if user is not None and self.revocations is not None and self.revocations.revoked(user):
                user = None  # a disabled account: its session ends now
            if user is None:
                return redirect("/login?pesan=sesi_berakhir" if token else "/login", 303)
            csrf = session.csrf_token(token)
            admin.guard(endpoint, user, request)
            if request.method == "POST" and not session.csrf_valid(token, request.form.get("csrf")):
                raise AppError("forbidden", "Formulir kedaluwarsa atau tidak sah. Muat ulang halaman lalu coba lagi.")
            view: Callable[..., Response] = getattr(self, endpoint)
            return view(request, user, csrf, **args)
        except AppError as exc:
            return html(views.error_page(exc.message, user, csrf or ""), exc.status)
        except NotFound:
            return html(views.error_page("Halaman tidak ditemukan.", user, csrf or ""), 404)
        except RequestEntityTooLarge:
            limit = "" if user is None else " (batas berkas data induk 50 MiB)"
            return html(views.error_page(f"Data yang dikirim terlalu besar{limit}.", user, csrf or ""), 413)
        except MethodNotAllowed:
            return html(views.error_page("Metode tidak diizinkan.", user, csrf or ""), 405)
        except HTTPException as exc:
            return html(views.error_page("Permintaan tidak dapat diproses.", user, csrf or ""), exc.code or 400)
        except Exception:
            log.exception("console request failed: %s %s", request.method, request.path)
            return html(views.error_page("Terjadi kesalahan pada sistem. Coba lagi sebentar lagi.", user,
                                         csrf or ""), 500)

    # -- public pages ---------------------------------------------------------------------------
    def healthz(self, request: Request) -> Response:
        return Response('{"status": "ok"}', mimetype="application/json")

    def static(self, request: Request, name: str) -> Response:
        if name not in STATIC_TYPES:
            raise NotFound()
        response = Response((STATIC / name).read_bytes(), mimetype=STATIC_TYPES[name])
        response.headers["Cache-Control"] = "public, max-age=3600"
        return response

    def login(self, request: Request) -> Response:
        flash = FLASH.get(request.args.get("pesan", ""), "").format(nip="") or None
        if request.method == "GET":
            return self._login_form(flash=flash)
        username = request.form.get("username", "").strip()
        nonce = request.cookies.get(session.LOGIN_COOKIE)
        if not nonce or nonce != request.form.get("login_nonce"):
            return self._login_form(username, "Formulir kedaluwarsa. Silakan coba lagi.", status=403)
        device = devices.device_for(request.cookies.get(devices.COOKIE), username)  # judged on its own failures
        try:
            issued = self.backend.call("identity", "issue_token", username, request.form.get("password", ""),
                                       device=device)
        except AppError as exc:
            return self._login_form(username, exc.message, status=exc.status)
        claims = session.staff_claims(issued.get("access_token"))
        if claims is None:
            return self._login_form(username, "Akun ini bukan akun verifikator atau administrator.", status=403)
        response = redirect("/registrations", 303)
        response.set_cookie(session.SESSION_COOKIE, issued["access_token"], max_age=issued.get("expires_in"),
                            httponly=True, samesite="Strict", secure=settings.secure_cookies(), path="/")
        response.delete_cookie(session.LOGIN_COOKIE, path="/login")
        response.headers.add("Set-Cookie", devices.cookie_header(username, device, "/login"))
        return response

    def _login_form(self, username: str = "", error: str | None = None, flash: str | None = None,
                    status: int = 200) -> Response:
        nonce = session.new_login_nonce()
        response = html(views.login_page(nonce, username, error, flash), status)
        response.set_cookie(session.LOGIN_COOKIE, nonce, httponly=True, samesite="Strict",
                            secure=settings.secure_cookies(), path="/login")
        return response

    # -- staff pages ----------------------------------------------------------------------------
    def home(self, request: Request, user: dict, csrf: str) -> Response:
        return redirect("/registrations", 303)

    def logout(self, request: Request, user: dict, csrf: str) -> Response:
        response = redirect("/login?pesan=keluar", 303)
        response.delete_cookie(session.SESSION_COOKIE, path="/", httponly=True, samesite="Strict")
        return response

    def _notices(self, request: Request) -> dict:
        text = FLASH.get(request.args.get("pesan", ""))
        return {"flash": text.format(nip=request.args.get("nip", "")) if text else None}

    def registrations(self, request: Request, user: dict, csrf: str, error: str | None = None,
                      status: int = 200) -> Response:
        page = self.backend.call("verification", "list_registrations", session.actor_of(user), "pending",
                                 request.args.get("cursor") or None)
        notices = {"error": error} if error else self._notices(request)
        return html(views.registrations_page(user, csrf, page.get("items", []), page.get("next"), **notices), status)

    def _done(self, path: str, code: str, nip: str) -> Response:
        return redirect(f"{path}?pesan={code}&nip={quote(nip)}", 303)

    def confirm(self, request: Request, user: dict, csrf: str, nip: str) -> Response:
        try:
            self.backend.call("verification", "confirm_registration", nip, session.actor_of(user))
        except AppError as exc:
            return self.registrations(request, user, csrf, exc.message, exc.status)
        return self._done("/registrations", "dikonfirmasi", nip)

    def reject(self, request: Request, user: dict, csrf: str, nip: str) -> Response:
        reason = request.form.get("alasan", "").strip()
        try:
            if not reason:
                raise AppError("validation_error", "Alasan penolakan wajib diisi.", {"reason": ["wajib diisi"]})
            self.backend.call("verification", "reject_registration", nip, reason, session.actor_of(user))
        except AppError as exc:
            return self.registrations(request, user, csrf, exc.message, exc.status)
        return self._done("/registrations", "ditolak", nip)

    def submissions(self, request: Request, user: dict, csrf: str) -> Response:
        page = self.backend.call("verification", "list_submissions", session.actor_of(user), "submitted",
                                 request.args.get("cursor") or None)
        return html(views.submissions_page(user, csrf, page.get("items", []), page.get("next"),
                                           **self._notices(request)))

    def submissions_csv(self, request: Request, user: dict, csrf: str) -> Response:
        actor = session.actor_of(user)
        content = csvexport.submissions_csv(
            lambda cursor: self.backend.call("verification", "export_submissions", actor, cursor=cursor))
        return Response(content, headers=csvexport.headers("pengajuan-" + (user.get("instansi_kode") or "semua")))

    def submission(self, request: Request, user: dict, csrf: str, nip: str, error: str | None = None,
                   status: int = 200) -> Response:
        sub = self.backend.call("verification", "get_submission", nip, session.actor_of(user))
        return html(views.submission_page(user, csrf, nip, sub, error=error), status)

    def approve(self, request: Request, user: dict, csrf: str, nip: str) -> Response:
        try:
            self.backend.call("verification", "approve_submission", nip, session.actor_of(user))
        except AppError as exc:
            return self.submission(request, user, csrf, nip, exc.message, exc.status)
        return self._done("/submissions", "disetujui", nip)

    def return_(self, request: Request, user: dict, csrf: str, nip: str) -> Response:
        notes = {key.removeprefix("catatan_"): value.strip() for key, value in request.form.items()
                 if key.startswith("catatan_") and value.strip()}
        try:
            if not notes:
                raise AppError("validation_error", "Isi catatan untuk minimal satu bagian.", {"notes": ["wajib"]})
            self.backend.call("verification", "return_submission", nip, notes, session.actor_of(user))
        except AppError as exc:
            return self.submission(request, user, csrf, nip, exc.message, exc.status)
        return self._done("/submissions", "dikembalikan", nip)

    def document(self, request: Request, user: dict, csrf: str, document_id: str) -> Response:
        found = self.backend.call("documents", "get_document", document_id, session.actor_of(user))
        response = Response(base64.b64decode(found["content_b64"]), mimetype=found["content_type"])
        response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(found['filename'])}"
        return response


app = Console()
