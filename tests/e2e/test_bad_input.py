"""Bad input on every thin-path endpoint: the right code in the one envelope, never HTML, and nothing stored.

"Nothing stored" is proven against the event log itself: the admin audit of the NIP concerned (every
service's events about it) and, for calls that concern no stored NIP, the total from
`GET /api/v1/admin/audit/verify`, read before the call (once the log is quiet) and after it.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date

import jwt
import pytest
import requests

from pupns.nip import make_nip
from pupns_dev.waiting import wait_until

pytestmark = pytest.mark.e2e
PASSWORD = "rahasia-sekali-123"
TOO_BIG = 64 * 1024 + 1
JSON = {"Content-Type": "application/json"}


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def assert_error(resp: requests.Response, status: int, code: str, fields: set[str] | None = None,
                 case: str = "") -> dict:
    """The spec's envelope, as JSON, with this status and code (and these `fields`, when given)."""
    where = f"{resp.request.method} {resp.request.url} [{case}]"
    assert resp.status_code == status, f"{where}: {resp.status_code} {resp.text[:500]}"
    assert resp.headers.get("Content-Type", "").startswith("application/json"), resp.headers.get("Content-Type")
    lowered = resp.text.lower()
    assert "<html" not in lowered and "<!doctype" not in lowered and "traceback" not in lowered, resp.text[:500]
    body = resp.json()
    error = body["error"]
    assert set(error) <= {"code", "message", "fields"}, error
    assert error["code"] == code, (where, body)
    assert isinstance(error["message"], str) and error["message"].strip(), body
    if "fields" in error:
        assert isinstance(error["fields"], dict) and error["fields"], body
        assert all(isinstance(reasons, list) and reasons and all(isinstance(r, str) and r for r in reasons)
                   for reasons in error["fields"].values()), body
    if fields is not None:
        assert fields <= set(error.get("fields") or {}), body
    return body


def settled(read: Callable[[], object]) -> object:
    """`read()` once three readings in a row agree (asynchronous consumers of earlier steps are done)."""
    seen: list[str] = []

    def probe() -> bool:
        seen.append(json.dumps(read(), sort_keys=True, default=str))
        return len(seen) >= 3 and seen[-1] == seen[-2] == seen[-3]
    wait_until(probe, timeout=60, interval=0.25, message="event log quiet")
    return json.loads(seen[-1])


class Ledger:
    """Proves, after each rejected call, that the log did not grow (or grew by exactly what the spec says).

    The NIP's own audit is read after every call. The whole log's total (an audit of every service's log, seconds
    on a grown platform) is read after every call too, unless `deferred`: `nothing_stored` reads it once, when its
    block ends. The log only grows, so an equal total then proves that no call in the block stored anything (what
    it gives up is naming the call that did)."""

    def __init__(self, platform, nip: str | None, deferred: bool = False):
        self.platform, self.nip, self.deferred = platform, nip, deferred
        self.total = settled(platform.event_count)
        self.events = settled(lambda: platform.audit(nip)) if nip else None

    def unchanged(self, new_events: int = 0) -> None:
        self.total += new_events
        if not self.deferred:
            self.total_unchanged()
        if self.nip:
            events = json.loads(json.dumps(self.platform.audit(self.nip), default=str))
            assert len(events) == len(self.events) + new_events, events[len(self.events):]
            assert events[:len(self.events)] == self.events
            self.events = events

    def total_unchanged(self) -> None:
        total = self.platform.event_count()
        assert total == self.total, f"event log grew from {self.total} to {total}"


@contextmanager
def nothing_stored(platform, nip: str | None = None) -> Iterator[Ledger]:
    ledger = Ledger(platform, nip, deferred=True)
    yield ledger
    ledger.unchanged()
    ledger.total_unchanged()


def crafted_token(cfg, **overrides) -> str:
    """A token signed like the platform's (kid + HS256 with the stack's key), with claims overridden."""
    kid, _, secret = cfg.jwt_keys.partition(":")
    now = int(time.time())
    claims = {"sub": "admin", "role": "admin", "aud": "pupns", "iss": "pupns-identity", "iat": now,
              "exp": now + 600}
    key = overrides.pop("key", secret)
    kid = overrides.pop("kid", kid)
    claims.update(overrides)
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, key, algorithm="HS256",
                      headers={"kid": kid})


def bad_tokens(cfg, role: str, sub: str, instansi_kode: str | None) -> dict[str, dict]:
    """Authorization headers that must all be 401 `unauthorized`."""
    base = {"role": role, "sub": sub, "instansi_kode": instansi_kode}
    return {
        "missing": {},
        "not a JWT": bearer("bukan.token.jwt"),
        "wrong scheme": {"Authorization": "Basic YWRtaW46YWRtaW4="},
        "forged": bearer(crafted_token(cfg, key="kunci-palsu-" + "x" * 32, **base)),
        "unknown kid": bearer(crafted_token(cfg, kid="lain", **base)),
        "expired": bearer(crafted_token(cfg, exp=int(time.time()) - 120, iat=int(time.time()) - 1200, **base)),
        "wrong audience": bearer(crafted_token(cfg, aud="pupns-lain", **base)),
        "wrong issuer": bearer(crafted_token(cfg, iss="penerbit-lain", **base)),
        "unknown role": bearer(crafted_token(cfg, **{**base, "role": "superadmin"})),
    }


def malformed_bodies(body: dict) -> list[tuple[str, dict, bytes, int, str]]:
    """(case, headers, raw body, status, code) for the JSON body rules every JSON endpoint shares."""
    good = json.dumps(body).encode()
    huge = json.dumps({**body, "lampiran": "x" * TOO_BIG}).encode()
    return [
        ("malformed JSON", JSON, b'{"tidak": "selesai"', 400, "bad_request"),
        ("not UTF-8", JSON, b'{"a": "\xff\xfe"}', 400, "bad_request"),
        ("empty body", JSON, b"", 400, "bad_request"),
        ("text/plain", {"Content-Type": "text/plain"}, good, 415, "unsupported_type"),
        ("XML", {"Content-Type": "application/xml"}, b"<nip>1</nip>", 415, "unsupported_type"),
        ("no Content-Type", {"Content-Type": ""}, good, 415, "unsupported_type"),
        ("over 64 KiB", JSON, huge, 413, "too_large"),
    ]


def check_body_rules(http, method: str, url: str, headers: dict, body: dict, ledger: Ledger) -> None:
    for case, extra, raw, status, code in malformed_bodies(body):
        resp = http.request(method, url, data=raw, headers={**headers, **extra}, timeout=30)
        assert_error(resp, status, code, case=case)
        ledger.unchanged()
    resp = http.request(method, url, json={**body, "peran": "admin"}, headers=headers, timeout=30)
    assert_error(resp, 422, "validation_error", {"peran"})
    ledger.unchanged()
    resp = http.request(method, url, json=[body], headers=headers, timeout=30)
    assert_error(resp, 422, "validation_error")
    ledger.unchanged()


def check_bad_tokens(http, method: str, url: str, cfg, ledger: Ledger, role: str = "admin", sub: str = "admin",
                     instansi_kode: str | None = None, **kwargs) -> None:
    for case, headers in bad_tokens(cfg, role, sub, instansi_kode).items():
        resp = http.request(method, url, headers=headers, timeout=30, **kwargs)
        assert_error(resp, 401, "unauthorized", case=case)
        ledger.unchanged()


def plain_jabatan(row: dict) -> bool:
    return not any(word in row["jabatan"] for word in ("Guru", "Dokter"))


# -- anonymous endpoints ----------------------------------------------------------------------------------
def test_registration_rejects_bad_input(platform):
    http, url = platform.http, platform.url("/api/v1/registrations")
    row, registered = platform.take_row(), platform.take_row()
    body = {"nip": row["nip"], "nik": row["nik"], "email": "pns@contoh.go.id", "password": PASSWORD}

    with nothing_stored(platform, row["nip"]) as ledger:
        check_body_rules(http, "POST", url, {}, body, ledger)
        for field, value in (("nip", "12345"), ("nik", "abc"), ("email", "bukan-email"),
                             ("password", "123456789012"), ("password", "pendek")):
            resp = http.post(url, json={**body, field: value}, timeout=30)
            assert_error(resp, 422, "validation_error", {field})
            ledger.unchanged()
        resp = http.post(url, json={k: v for k, v in body.items() if k != "nik"}, timeout=30)
        assert_error(resp, 422, "validation_error", {"nik"})
        ledger.unchanged()
        wrong_nik = row["nik"][:-4] + f"{(int(row['nik'][-4:]) + 1) % 10000:04d}"
        resp = http.post(url, json={**body, "nik": wrong_nik}, timeout=30)
        assert_error(resp, 422, "nik_mismatch")
        ledger.unchanged(new_events=1)  # the attempt alone is kept: NIK guessing is counted per NIP (SPEC Abuse)
        assert platform.audit(row["nip"])[-1]["type"] == "NikMismatched"

    # A NIP outside the roster is refused and kept, exactly once, as a "PNS selundupan" candidate.
    stranger = make_nip(date(1984, 2, 29), date(2011, 3, 1), "P", 777)
    assert stranger not in {r["nip"] for r in platform.demo["rows"]}
    ledger = Ledger(platform, stranger)
    assert ledger.events == []
    resp = http.post(url, json={**body, "nip": stranger}, timeout=30)
    assert_error(resp, 422, "nip_not_in_roster")
    ledger.unchanged(new_events=1)
    assert [e["type"] for e in platform.audit(stranger)] == ["UnknownNipAttempted"]

    first = platform.register(registered)
    with nothing_stored(platform, registered["nip"]) as ledger:
        again = {"nip": registered["nip"], "nik": registered["nik"], "email": "lain@contoh.go.id",
                 "password": "kata-sandi-lain-99"}
        resp = http.post(url, json=again, timeout=30)
        assert_error(resp, 409, "already_registered")
        ledger.unchanged()
        resp = http.post(url, json={**again, "nip": " ".join([registered["nip"][:8], registered["nip"][8:]])},
                         timeout=30)
        assert_error(resp, 409, "already_registered")
    assert first["status"] == "pending_confirmation"


def test_login_rejects_bad_input(platform):
    http, url = platform.http, platform.url("/api/v1/auth/token")
    row = platform.take_row()
    platform.register(row)
    body = {"username": row["nip"], "password": PASSWORD}

    with nothing_stored(platform, row["nip"]) as ledger:
        check_body_rules(http, "POST", url, {}, body, ledger)
        resp = http.post(url, json={"username": row["nip"]}, timeout=30)
        assert_error(resp, 422, "validation_error", {"password"})
        ledger.unchanged()
        for username, password in ((row["nip"], "salah-kata-sandi-1"), ("verifikator.tidak.ada", PASSWORD)):
            resp = http.post(url, json={"username": username, "password": password}, timeout=30)
            assert_error(resp, 401, "invalid_credentials")
            ledger.unchanged()
        resp = http.post(url, json=body, timeout=30)
        assert_error(resp, 403, "registration_pending")
        ledger.unchanged()


def test_unknown_paths_and_methods_answer_the_envelope(platform):
    http = platform.http
    with nothing_stored(platform):
        for path in ("/api/v1/tidak-ada", "/tidak-ada", "/api/v2/registrations", "/api/v1/me/form/sections",
                     "/api/v1/admin/../../etc/passwd"):
            for accept in ("application/json", "text/html"):
                resp = http.get(platform.url(path), headers={"Accept": accept}, timeout=30)
                assert_error(resp, 404, "not_found")
        resp = http.delete(platform.url("/api/v1/registrations"), timeout=30)
        assert_error(resp, 405, "method_not_allowed")
        assert "POST" in resp.headers.get("Allow", "")


# -- verifier decisions on registrations ----------------------------------------------------------------
def test_registration_decisions_reject_bad_input(platform):
    cfg, http = platform.cfg, platform.http
    row = platform.take_row()
    pns = platform.confirmed_pns(platform.take_row(lambda r: r["instansi_kode"] == row["instansi_kode"]))
    platform.register(row)
    platform.wait_pending(row)
    own, other = platform.verifier(row["instansi_kode"]), platform.other_verifier(row["instansi_kode"])
    confirm = platform.url(f"/api/v1/verifier/registrations/{row['nip']}/confirm")
    reject = platform.url(f"/api/v1/verifier/registrations/{row['nip']}/reject")

    with nothing_stored(platform, row["nip"]) as ledger:
        for url in (confirm, reject):
            check_bad_tokens(http, "POST", url, cfg, ledger, "verifier", "verifikator.palsu", row["instansi_kode"],
                             json={"reason": "NIK tidak sesuai KTP"})
            for headers, who in ((pns, "PNS"), (other, "verifier of another instansi")):
                resp = http.post(url, headers=headers, json={"reason": "NIK tidak sesuai KTP"}, timeout=30)
                assert_error(resp, 403, "forbidden", case=who)
                ledger.unchanged()
        check_body_rules(http, "POST", reject, own, {"reason": "NIK tidak sesuai KTP"}, ledger)
        for bad in ({}, {"reason": ""}, {"reason": 42}):
            resp = http.post(reject, headers=own, json=bad, timeout=30)
            assert_error(resp, 422, "validation_error", {"reason"})
            ledger.unchanged()
        resp = http.post(confirm, headers={**own, **JSON}, data=b"{rusak", timeout=30)
        assert_error(resp, 400, "bad_request")
        ledger.unchanged()

    resp = http.post(confirm, headers=own, timeout=30)
    assert resp.status_code == 200, resp.text
    with nothing_stored(platform, row["nip"]) as ledger:
        for url, body in ((confirm, None), (reject, {"reason": "terlambat"})):
            resp = http.post(url, headers=own, json=body, timeout=30)
            assert_error(resp, 409, "invalid_state")
            ledger.unchanged()
    never = platform.take_row(lambda r: r["instansi_kode"] == row["instansi_kode"])
    with nothing_stored(platform, never["nip"]):
        resp = http.post(platform.url(f"/api/v1/verifier/registrations/{never['nip']}/confirm"), headers=own,
                         timeout=30)
        assert_error(resp, 404, "not_found")


# -- the PNS's form ------------------------------------------------------------------------------------------
def test_form_rejects_bad_tokens_and_roles(platform):
    cfg, http = platform.cfg, platform.http
    row = platform.take_row()
    pns = platform.confirmed_pns(row)
    with nothing_stored(platform, row["nip"]) as ledger:
        for method, path in (("GET", "/api/v1/me/form"), ("PUT", "/api/v1/me/form/sections/data_utama"),
                             ("POST", "/api/v1/me/form/submit"), ("GET", "/api/v1/me")):
            headers = {"If-Match": "1"} if method == "PUT" else {}
            for case, auth in bad_tokens(cfg, "pns", row["nip"], row["instansi_kode"]).items():
                resp = http.request(method, platform.url(path), headers={**headers, **auth}, json={}, timeout=30)
                assert_error(resp, 401, "unauthorized", case=case)
                ledger.unchanged()
            for staff in (platform.verifier(row["instansi_kode"]), platform.admin()):
                resp = http.request(method, platform.url(path), headers={**headers, **staff}, json={}, timeout=30)
                assert_error(resp, 403, "forbidden")
                ledger.unchanged()
    assert http.get(platform.url("/api/v1/me/form"), headers=pns, timeout=30).status_code == 200


def test_section_save_rejects_bad_input(platform):
    http = platform.http
    row = platform.take_row(plain_jabatan)
    pns = platform.confirmed_pns(row)
    form = platform.form(pns)
    version = form.headers["ETag"].strip('"')
    data_utama = {**form.json()["sections"]["data_utama"], "no_hp": "081234567890"}
    url = platform.url("/api/v1/me/form/sections/data_utama")
    current = {**pns, "If-Match": version}

    with nothing_stored(platform, row["nip"]) as ledger:
        resp = http.put(url, headers=pns, json=data_utama, timeout=30)
        assert_error(resp, 428, "precondition_required")
        ledger.unchanged()
        for stale in (str(int(version) + 5), "0"):
            resp = http.put(url, headers={**pns, "If-Match": stale}, json=data_utama, timeout=30)
            body = assert_error(resp, 409, "version_conflict")
            assert body["version"] == int(version), body
            ledger.unchanged()
        resp = http.put(url, headers={**pns, "If-Match": "bukan-versi"}, json=data_utama, timeout=30)
        assert_error(resp, 422, "validation_error", {"If-Match"})
        ledger.unchanged()
        for key in ("data_rahasia", "DATA_UTAMA"):
            resp = http.put(platform.url(f"/api/v1/me/form/sections/{key}"), headers=current, json={}, timeout=30)
            assert_error(resp, 404, "unknown_section")
            ledger.unchanged()
        for key in ("data_guru", "data_dokter"):
            resp = http.put(platform.url(f"/api/v1/me/form/sections/{key}"), headers=current,
                            json={"sertifikasi": True, "sekolah": "SD Negeri 1", "nomor_str": "STR-1"}, timeout=30)
            assert_error(resp, 422, "section_not_applicable")
            ledger.unchanged()
        for case, extra, raw, status, code in malformed_bodies(data_utama):
            resp = http.put(url, headers={**current, **extra}, data=raw, timeout=30)
            assert_error(resp, status, code, case=case)
            ledger.unchanged()
        for bad, field in (({**data_utama, "gaji_pokok": "9000000"}, "data_utama.gaji_pokok"),
                           ({**data_utama, "no_hp": "12345"}, "data_utama.no_hp"),
                           ({**data_utama, "tanggal_lahir": "2099-01-01"}, "data_utama.tanggal_lahir"),
                           ({**data_utama, "nik": "123"}, "data_utama.nik")):
            resp = http.put(url, headers=current, json=bad, timeout=30)
            assert_error(resp, 422, "validation_error", {field})
            ledger.unchanged()
        resp = http.put(platform.url("/api/v1/me/form/sections/riwayat_golongan"), headers=current,
                        json={"golongan": "31"}, timeout=30)
        assert_error(resp, 422, "validation_error")
        ledger.unchanged()

    saved = http.put(url, headers=current, json=data_utama, timeout=30)
    assert saved.status_code == 200, saved.text
    submitted = http.post(platform.url("/api/v1/me/form/submit"), headers=pns, timeout=30)
    assert submitted.status_code == 200, submitted.text
    locked_version = str(saved.json()["version"] + 1)
    with nothing_stored(platform, row["nip"]) as ledger:
        resp = http.put(url, headers={**pns, "If-Match": locked_version}, json=data_utama, timeout=30)
        assert_error(resp, 409, "form_locked")
        ledger.unchanged()
        resp = http.post(platform.url("/api/v1/me/form/submit"), headers=pns, timeout=30)
        assert_error(resp, 409, "form_locked")
        ledger.unchanged()


def test_submit_of_an_incomplete_form_is_refused(platform):
    http = platform.http
    row = platform.take_row()
    pns = platform.confirmed_pns(row)
    form = platform.form(pns)
    graduated = form.json()["sections"]["riwayat_pendidikan"][0]["tahun_lulus"]
    # Born four years before graduating: the stored education entry no longer fits (birth year + 5).
    data_utama = {**form.json()["sections"]["data_utama"], "tanggal_lahir": f"{graduated - 4}-01-01"}
    saved = http.put(platform.url("/api/v1/me/form/sections/data_utama"), json=data_utama,
                     headers={**pns, "If-Match": form.headers["ETag"].strip('"')}, timeout=30)
    assert saved.status_code == 200, saved.text

    with nothing_stored(platform, row["nip"]) as ledger:
        resp = http.post(platform.url("/api/v1/me/form/submit"), headers=pns, timeout=30)
        assert_error(resp, 422, "incomplete", {"riwayat_pendidikan"})
        ledger.unchanged()
        for case, extra, raw, status, code in malformed_bodies({})[:2]:
            resp = http.post(platform.url("/api/v1/me/form/submit"), headers={**pns, **extra}, data=raw, timeout=30)
            assert_error(resp, status, code, case=case)
            ledger.unchanged()
    assert platform.form(pns).json()["status"] == "draft"


# -- verifier decisions on submissions ------------------------------------------------------------------
def test_submission_decisions_reject_bad_input(platform):
    cfg, http = platform.cfg, platform.http
    row = platform.take_row()
    pns = platform.submitted_pns(row)
    own, other = platform.verifier(row["instansi_kode"]), platform.other_verifier(row["instansi_kode"])
    approve = platform.url(f"/api/v1/verifier/submissions/{row['nip']}/approve")
    give_back = platform.url(f"/api/v1/verifier/submissions/{row['nip']}/return")
    notes = {"notes": {"data_utama": "Lampirkan KTP."}}

    with nothing_stored(platform, row["nip"]) as ledger:
        for url in (approve, give_back):
            check_bad_tokens(http, "POST", url, cfg, ledger, "verifier", "verifikator.palsu", row["instansi_kode"],
                             json=notes)
            for headers in (pns, other):
                resp = http.post(url, headers=headers, json=notes, timeout=30)
                assert_error(resp, 403, "forbidden")
                ledger.unchanged()
        check_body_rules(http, "POST", give_back, own, notes, ledger)
        for bad in ({}, {"notes": "perbaiki"}, {"notes": {"data_utama": 7}}):
            resp = http.post(give_back, headers=own, json=bad, timeout=30)
            assert_error(resp, 422, "validation_error")
            ledger.unchanged()
        resp = http.post(approve, headers={**own, **JSON}, data=b"[1,", timeout=30)
        assert_error(resp, 400, "bad_request")
        ledger.unchanged()

    resp = http.post(approve, headers=own, timeout=30)
    assert resp.status_code == 200 and resp.json()["status"] == "verified", resp.text
    with nothing_stored(platform, row["nip"]) as ledger:
        for url, body in ((approve, None), (give_back, notes)):
            resp = http.post(url, headers=own, json=body, timeout=30)
            assert_error(resp, 409, "invalid_state")
            ledger.unchanged()
    never = platform.take_row(lambda r: r["instansi_kode"] == row["instansi_kode"])
    with nothing_stored(platform, never["nip"]):
        resp = http.post(platform.url(f"/api/v1/verifier/submissions/{never['nip']}/approve"), headers=own,
                         timeout=30)
        assert_error(resp, 404, "not_found")


# -- administrator endpoints -------------------------------------------------------------------------------
def test_roster_import_rejects_bad_input(platform):
    cfg, http, url = platform.cfg, platform.http, platform.url("/api/v1/admin/roster")
    admin = platform.admin()
    header = b"nip,nik,nama\n"
    some = platform.demo["rows"][1]
    with nothing_stored(platform) as ledger:
        check_bad_tokens(http, "POST", url, cfg, ledger, data=header)
        resp = http.post(url, headers={**platform.verifier(some["instansi_kode"]), "Content-Type": "text/csv"},
                         data=header, timeout=30)
        assert_error(resp, 403, "forbidden")
        ledger.unchanged()
        for content_type in ("application/json", "text/plain", "application/vnd.ms-excel", ""):
            resp = http.post(url, headers={**admin, "Content-Type": content_type}, data=header, timeout=30)
            assert_error(resp, 415, "unsupported_type")
            ledger.unchanged()
        resp = http.post(url, headers={**admin, "Content-Type": "text/csv"}, data=b"nip,nama\n\xff\xfe,\xc0\n",
                         timeout=30)
        assert_error(resp, 400, "bad_request")
        ledger.unchanged()
        oversize = b"x" * (50 * 1024 * 1024 + 1)
        resp = http.post(url, headers={**admin, "Content-Type": "text/csv"}, data=oversize, timeout=120)
        assert_error(resp, 413, "too_large")
        ledger.unchanged()


def test_verifier_creation_rejects_bad_input(platform):
    cfg, http, url = platform.cfg, platform.http, platform.url("/api/v1/admin/verifiers")
    admin = platform.admin()
    existing = next(iter(platform.demo["verifiers"].values()))
    body = {"username": "verifikator.baru.uji", "password": "kata-sandi-baru-123", "instansi_kode": "3273"}
    with nothing_stored(platform) as ledger:
        check_bad_tokens(http, "POST", url, cfg, ledger, json=body)
        resp = http.post(url, headers=platform.verifier(existing["instansi_kode"]), json=body, timeout=30)
        assert_error(resp, 403, "forbidden")
        ledger.unchanged()
        check_body_rules(http, "POST", url, admin, body, ledger)
        for bad, field in (({**body, "password": "123456789012"}, "password"),
                           ({**body, "username": "A B"}, "username"),
                           ({k: v for k, v in body.items() if k != "instansi_kode"}, "instansi_kode")):
            resp = http.post(url, headers=admin, json=bad, timeout=30)
            assert_error(resp, 422, "validation_error", {field})
            ledger.unchanged()
        resp = http.post(url, headers=admin, json={**body, "username": existing["username"]}, timeout=30)
        assert_error(resp, 409, "conflict", {"username"})
        ledger.unchanged()


def test_campaign_change_rejects_bad_input(platform):
    cfg, http, url = platform.cfg, platform.http, platform.url("/api/v1/admin/campaign")
    admin = platform.admin()
    before = http.get(url, headers=admin, timeout=30).json()
    body = {"opens_at": "2025-09-01T00:00:00+07:00", "closes_at": "2025-12-31T23:59:59+07:00"}
    some = platform.demo["rows"][1]
    with nothing_stored(platform) as ledger:
        check_bad_tokens(http, "PUT", url, cfg, ledger, json=body)
        resp = http.put(url, headers=platform.verifier(some["instansi_kode"]), json=body, timeout=30)
        assert_error(resp, 403, "forbidden")
        ledger.unchanged()
        check_body_rules(http, "PUT", url, admin, body, ledger)
        for bad, field in (({**body, "opens_at": "2025-09-01T00:00:00"}, "opens_at"),
                           ({**body, "closes_at": "31-12-2025"}, "closes_at"),
                           ({**body, "closes_at": "2025-08-01T00:00:00+07:00"}, "closes_at"),
                           ({"opens_at": body["opens_at"]}, "closes_at")):
            resp = http.put(url, headers=admin, json=bad, timeout=30)
            assert_error(resp, 422, "validation_error", {field})
            ledger.unchanged()
    assert http.get(url, headers=admin, timeout=30).json() == before
