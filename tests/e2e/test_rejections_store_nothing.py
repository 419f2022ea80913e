"""A rejected request stores nothing (SPEC §4), for the refusals a fuzzer cannot reach: they need real roster rows,
accounts and forms in a given state. Every collection of every service database and the key store is counted
before and after each request (tests/e2e/fuzzing.py); the spec's own exemptions (an attempt for a NIP not on
the roster, a wrong NIK, a failed login) may add only what they are documented to add."""
from __future__ import annotations

from collections.abc import Callable

import pytest
import requests

from tests.e2e.conftest import PASSWORD
from tests.e2e.fuzzing import StoreWatch, changed, error_code

pytestmark = pytest.mark.e2e
V1 = "/api/v1"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def stored_by(watch: StoreWatch, send: Callable[[], requests.Response], status: int, code: str) -> dict:
    """What a request answered `status` `code` changed in the store (empty: nothing)."""
    before = watch.snapshot(every_collection=True)
    resp = send()
    assert (resp.status_code, error_code(resp)) == (status, code), resp.text
    diff = changed(before, watch.snapshot(every_collection=True), code)
    if diff:  # perhaps the late work of the setup (consumers, e-mails): once the store is quiet, once more
        before = watch.settled(every_collection=True)
        resp = send()
        assert (resp.status_code, error_code(resp)) == (status, code), resp.text
        diff = changed(before, watch.snapshot(every_collection=True), code)
    return diff


def test_refusals_of_every_kind_leave_the_store_as_it_was(stack, platform):
    cfg, _ = stack
    confirmed, pending = platform.take_rows_of_one_instansi(2)
    pns = platform.confirmed_pns(confirmed)
    platform.register(pending)
    platform.wait_pending(pending)
    verifier, outsider = platform.verifier(pending["instansi_kode"]), platform.other_verifier(pending["instansi_kode"])
    admin = platform.admin()
    form = platform.form(pns).json()
    http, url = platform.http, platform.url

    def registration(row: dict, **changes) -> Callable[[], requests.Response]:
        body = {"nip": row["nip"], "nik": row["nik"], "email": f"{row['nip']}@contoh.go.id", "password": PASSWORD}
        return lambda: http.post(url(f"{V1}/registrations"), json={**body, **changes}, timeout=30)

    on_roster = {row["nip"] for row in platform.demo["rows"]}
    unknown = {**confirmed, "nip": next(nip for seq in range(999, 0, -1)
                                        if (nip := f"{confirmed['nip'][:-3]}{seq:03d}") not in on_roster)}
    wrong_nik = confirmed["nik"][:-1] + ("1" if confirmed["nik"][-1] != "1" else "2")
    utama = form["sections"]["data_utama"]
    taken = platform.demo["verifiers"][pending["instansi_kode"]]
    refusals = {
        "registering again": (registration(confirmed), 409, "already_registered"),
        "a wrong NIK": (registration(pending, nik=wrong_nik), 422, "nik_mismatch"),
        "a NIP not on the roster": (registration(unknown), 422, "nip_not_in_roster"),
        "logging in before confirmation": (lambda: http.post(url(f"{V1}/auth/token"), timeout=30, json={
            "username": pending["nip"], "password": PASSWORD}), 403, "registration_pending"),
        "a wrong password": (lambda: http.post(url(f"{V1}/auth/token"), timeout=30, json={
            "username": confirmed["nip"], "password": "bukan-sandinya-123"}), 401, "invalid_credentials"),
        "a stale If-Match": (lambda: http.put(url(f"{V1}/me/form/sections/data_utama"), json=utama, timeout=30,
                                              headers={**pns, "If-Match": str(form["version"] + 5)}),
                             409, "version_conflict"),
        "an invalid section": (lambda: http.put(url(f"{V1}/me/form/sections/data_utama"), timeout=30,
                                                json={**utama, "nik": "123"},
                                                headers={**pns, "If-Match": str(form["version"])}),
                               422, "validation_error"),
        "a PNG as ijazah": (lambda: http.post(url(f"{V1}/me/documents"), headers=pns, timeout=30,
                                              data={"kind": "ijazah"}, files={"file": ("ijazah.pdf", PNG)}),
                            415, "unsupported_type"),
        "confirming twice": (lambda: http.post(url(f"{V1}/verifier/registrations/{confirmed['nip']}/confirm"),
                                               headers=verifier, timeout=30), 409, "invalid_state"),
        "a blank reason": (lambda: http.post(url(f"{V1}/verifier/registrations/{pending['nip']}/reject"),
                                             json={"reason": "   "}, headers=verifier, timeout=30),
                           422, "validation_error"),
        "another instansi's verifier": (lambda: http.post(
            url(f"{V1}/verifier/registrations/{pending['nip']}/confirm"), headers=outsider, timeout=30),
            403, "forbidden"),
        "reinstating a PNS not sanctioned": (lambda: http.post(
            url(f"{V1}/admin/records/{confirmed['nip']}/reinstate"), json={"reason": "Salah tandai."},
            headers=admin, timeout=30), 409, "invalid_state"),
        "a verifier's username taken": (lambda: http.post(url(f"{V1}/admin/verifiers"), headers=admin, timeout=30,
                                                          json={"username": taken["username"],
                                                                "password": taken["password"],
                                                                "instansi_kode": pending["instansi_kode"]}),
                                        409, "conflict"),
    }
    watch = StoreWatch(cfg)
    try:
        watch.settled(every_collection=True)
        stored = {name: diff for name, (send, status, code) in refusals.items()
                  if (diff := stored_by(watch, send, status, code))}
    finally:
        watch.close()
    assert stored == {}
    # The refusals changed no state either: the pending registration still waits, the form is as it was.
    assert platform.form(pns).json()["version"] == form["version"]
    platform.wait_pending(pending)
