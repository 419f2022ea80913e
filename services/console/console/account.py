"""The signed-in staff member's own account: "Ganti kata sandi" (verifiers and administrators).

Mixed into `console.app.Console`. identity checks the current password and the new one's policy and records the
change (audited); the session's token is void after it, so the answer's fresh token becomes the session cookie.
"""
from __future__ import annotations

from html import escape
from typing import Any

from werkzeug.routing import Rule
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from console import session, settings
from console.admin_views import field_error, invalid
from console.views import hidden_csrf, layout
from pupns.errors import AppError

RULES = [Rule("/kata-sandi", endpoint="password", methods=["GET", "POST"])]
CHANGED = "Kata sandi Anda telah diganti. Sesi lain yang masuk dengan kata sandi lama berakhir dalam beberapa detik."
FIELDS = {"current_password": "kata_sandi_lama", "new_password": "kata_sandi_baru"}  # identity's -> the form's


def password_page(user: dict, csrf: str, fields: dict | None = None, **notices: Any) -> str:
    """The form: current password, new password and its confirmation."""
    def box(name: str, text: str, autocomplete: str) -> str:
        return (f'<label>{escape(text)} <input name="{name}" type="password" required '
                f'autocomplete="{autocomplete}"{invalid(fields, name)}>{field_error(fields, name)}</label>')

    body = (f'<form method="post" action="/kata-sandi" class="stack">{hidden_csrf(csrf)}'
            f'{box("kata_sandi_lama", "Kata sandi saat ini", "current-password")}'
            f'{box("kata_sandi_baru", "Kata sandi baru", "new-password")}'
            f'{box("konfirmasi", "Ulangi kata sandi baru", "new-password")}'
            f'<p class="hint">Kata sandi minimal 10 karakter, tidak seluruhnya angka, dan berbeda dari kata sandi '
            f'saat ini. Setelah diganti, sesi lain yang masuk dengan kata sandi lama berakhir.</p>'
            f'<button type="submit">Ganti kata sandi</button></form>')
    return layout("Ganti kata sandi", body, user, csrf, **notices)


class AccountRoutes:
    """Handlers of the staff member's own account pages (mixin: needs `self.backend`)."""

    backend: Any

    def password(self, request: Request, user: dict, csrf: str) -> Response:
        if request.method == "GET":
            flash = CHANGED if request.args.get("pesan") == "sandi_diganti" else None
            return _html(password_page(user, csrf, flash=flash))
        current, new = request.form.get("kata_sandi_lama", ""), request.form.get("kata_sandi_baru", "")
        if new != request.form.get("konfirmasi", ""):
            fields = {"konfirmasi": ["tidak sama dengan kata sandi baru"]}
            return _html(password_page(user, csrf, fields, error="Konfirmasi kata sandi baru tidak sama."), 422)
        try:
            issued = self.backend.call("identity", "change_password", current, new, session.actor_of(user))
        except AppError as exc:
            fields = {FIELDS.get(k, k): v for k, v in (exc.fields or {}).items()}
            if exc.code == "invalid_credentials":
                fields = {"kata_sandi_lama": ["salah"]}
            return _html(password_page(user, csrf, fields, error=exc.message), exc.status)
        response = redirect("/kata-sandi?pesan=sandi_diganti", 303)
        response.set_cookie(session.SESSION_COOKIE, issued["access_token"], max_age=issued.get("expires_in"),
                            httponly=True, samesite="Strict", secure=settings.secure_cookies(), path="/")
        return response


def _html(page: str, status: int = 200) -> Response:
    return Response(page, status=status, mimetype="text/html")
