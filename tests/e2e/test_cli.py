"""The `pupns` CLI as an administrator runs it, as a subprocess against the running platform."""
from __future__ import annotations

import csv
import io
import re
import subprocess
import sys

import pytest
from pymongo import MongoClient

from pupns.integrity import UNCOUNTED
from pupns_dev.waiting import wait_until

pytestmark = pytest.mark.e2e
SERVICES = ("identity", "forms", "verification", "documents", "notifications")
INSTANSI = "9977"  # not in the demo roster: everything of it comes from this test's import


def pupns(cfg, *args: str, expect: int = 0) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "pupns_cli", *args], env=cfg.env(), capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == expect, f"pupns {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done


def audit_job_events(cfg) -> int:
    """Events of the audit's own jobs in identity's log: replayed like every event, left out of the audit's counts."""
    with MongoClient(cfg.mongo_uri_of("identity")) as client:
        events = client[f"{cfg.db_prefix}identity"].events
        return events.count_documents({"stream": {"$regex": f"^{UNCOUNTED.pattern}$"}})


def summary(stdout: str) -> tuple[int, int, int]:
    found = re.search(r"diimpor: (\d+), tidak berubah: (\d+), ditolak: (\d+)", stdout)
    assert found, stdout
    return int(found[1]), int(found[2]), int(found[3])


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def roster_with_bad_rows(generated: str) -> tuple[str, list[dict], dict[int, str]]:
    """The generated roster with bad rows mixed in: (csv text, good rows, {original line: bad column})."""
    rows = list(csv.DictReader(io.StringIO(generated)))
    columns = list(rows[0])
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    line, bad = 1, {}

    def put(row: dict, lines: int = 1) -> int:
        nonlocal line
        writer.writerow(row)
        line += lines
        return line - lines + 1

    put(rows[0])
    bad[put({**rows[1], "nip": "19800101"})] = "nip"
    # A quoted value spanning two lines: every later line number must still be the file's own.
    put({**rows[2], "unit_kerja": "Dinas Pendidikan\nBidang SD"}, lines=2)
    bad[put({**rows[3], "tanggal_lahir": "1980-02-30"})] = "tanggal_lahir"
    put(rows[4])
    bad[put({**rows[5], "golongan": "99"})] = "golongan"
    for row in rows[6:]:
        put(row)
    good = [rows[0], {**rows[2], "unit_kerja": "Dinas Pendidikan\nBidang SD"}, rows[4], *rows[6:]]
    return out.getvalue(), good, bad


def test_roster_import_verifier_audit_and_replay(stack, platform, api, tmp_path):
    cfg, _ = stack
    generated = tmp_path / "generated.csv"
    done = pupns(cfg, "roster", "generate", "--count", "9", "--seed", "4242", "--instansi", INSTANSI,
                 "--out", str(generated))
    assert "9 baris" in done.stdout
    text, good, bad = roster_with_bad_rows(generated.read_text(encoding="utf-8"))
    assert len(good) == 6 and len(bad) == 3
    roster = tmp_path / "roster.csv"
    roster.write_text(text, encoding="utf-8")

    # First import, in chunks of two rows so that line numbers cross chunk boundaries.
    first = pupns(cfg, "roster", "import", str(roster), "--chunk", "2")
    assert summary(first.stdout) == (len(good), 0, len(bad)), first.stdout
    assert "impor [" in first.stderr and " 9/9 " in first.stderr, first.stderr  # the job's progress bar
    reported = {int(m[1]): m[2] for m in re.finditer(r"baris (\d+), kolom ([\w-]+):", first.stdout)}
    assert reported == bad, first.stdout
    again = pupns(cfg, "roster", "import", str(roster))
    assert summary(again.stdout) == (0, len(good), len(bad)), again.stdout

    # The imported rows are the roster now: a PNS of them registers; a rejected row's NIP is still unknown.
    newcomer = good[-1]
    resp = api.post("/api/v1/registrations", json={"nip": newcomer["nip"], "nik": newcomer["nik"],
                                                   "email": "baru@contoh.go.id", "password": "kata-sandi-baru-1"})
    assert resp.status_code == 201, resp.text
    assert resp.json()["instansi_nama"] == newcomer["instansi_nama"]
    audit = [e["type"] for e in platform.audit(newcomer["nip"])]
    assert audit[0] == "RosterEntryImported" and audit.count("RosterEntryImported") == 1, audit
    rejected_row = list(csv.DictReader(io.StringIO(generated.read_text(encoding="utf-8"))))[3]
    assert platform.audit(rejected_row["nip"]) == []

    # A verifier for the new instansi, created from the CLI, logs in over HTTP and sees that registration.
    created = pupns(cfg, "verifier", "create", "--username", "verifikator.uji-cli", "--password",
                    "kata-sandi-verifikator-1", "--instansi", INSTANSI)
    assert "verifikator.uji-cli" in created.stdout and INSTANSI in created.stdout
    duplicate = pupns(cfg, "verifier", "create", "--username", "verifikator.uji-cli", "--password",
                      "kata-sandi-verifikator-2", "--instansi", INSTANSI, expect=1)
    assert '"conflict"' in duplicate.stderr
    login = api.post("/api/v1/auth/token", json={"username": "verifikator.uji-cli",
                                                 "password": "kata-sandi-verifikator-1"})
    assert login.status_code == 200, login.text
    assert login.json()["role"] == "verifier"
    verifier = bearer(login.json()["access_token"])
    pending = wait_until(lambda: [i for i in api.get("/api/v1/verifier/registrations", headers=verifier)
                                  .json()["items"] if i["nip"] == newcomer["nip"]], message="registration queued")
    assert pending[0]["nama"] == newcomer["nama"]
    assert api.post(f"/api/v1/verifier/registrations/{newcomer['nip']}/confirm", headers=verifier).status_code == 200
    pns = bearer(platform.token(newcomer["nip"], "kata-sandi-baru-1"))
    wait_until(lambda: api.get("/api/v1/me/form", headers=pns).status_code == 200, message="form opened")

    # audit verify: exit 0, one line per service, and the same totals as the API.
    total = platform.settled_event_count()
    verified = pupns(cfg, "audit", "verify")
    counts = {m[1]: (int(m[2]), int(m[3])) for m in re.finditer(r"^(\w+): UTUH \((\d+) stream, (\d+) peristiwa\)$",
                                                               verified.stdout, re.M)}
    assert set(counts) == set(SERVICES), verified.stdout
    assert sum(events for _, events in counts.values()) == total
    assert all(events > 0 for streams, events in counts.values() if streams), counts

    # Replaying every service rebuilds its read models from the log: the platform answers the same.
    def views() -> dict:
        return {"me": api.get("/api/v1/me", headers=pns).json(),
                "form": api.get("/api/v1/me/form", headers=pns).json(),
                "queue": api.get("/api/v1/verifier/registrations?status=pending", headers=verifier).json(),
                "campaign": api.get("/api/v1/admin/campaign", headers=platform.admin()).json(),
                "progress": api.get("/api/v1/admin/progress", headers=platform.admin()).json()}
    before = views()
    assert before["me"]["status"] == "draft" and before["form"]["status"] == "draft"
    uncounted = audit_job_events(cfg)
    assert uncounted > 0  # the API's checks above ran as identity's jobs
    for service in SERVICES:
        replayed = pupns(cfg, "replay", service)
        applied = re.search(r"(\d+) peristiwa diterapkan ulang", replayed.stdout)
        expected = counts[service][1] + (uncounted if service == "identity" else 0)
        assert applied and int(applied[1]) == expected, replayed.stdout
    assert views() == before
    assert platform.settled_event_count() == total  # replay appends nothing
    # ... and keeps working afterwards: the PNS can still save a section.
    form = api.get("/api/v1/me/form", headers=pns)
    saved = api.put("/api/v1/me/form/sections/data_stakeholder", json={"bpjs_kesehatan_nomor": "0001234567890"},
                    headers={**pns, "If-Match": form.headers["ETag"].strip('"')})
    assert saved.status_code == 200, saved.text


def test_replay_help_says_when_to_run_it(stack):
    cfg, _ = stack
    done = pupns(cfg, "replay", "--help")
    assert "dihentikan" in done.stdout


def test_record_erase_from_the_cli_is_audited_repeatable_and_refuses_an_unknown_nip(stack, platform, api):
    cfg, _ = stack
    row = platform.take_row(lambda r: "Guru" not in r["jabatan"] and "Dokter" not in r["jabatan"])
    pns = platform.confirmed_pns(row)
    before = api.get("/api/v1/me/export", headers=pns).json()
    assert before["roster"]["nik"] == row["nik"] and not before.get("_erased")

    done = pupns(cfg, "record", "erase", row["nip"], "--reason", "pendaftaran oleh orang lain")
    assert f"data pribadi {row['nip']} dihapus" in done.stdout
    again = pupns(cfg, "record", "erase", row["nip"], "--reason", "pendaftaran oleh orang lain")
    assert f"data pribadi {row['nip']} dihapus" in again.stdout  # harmless to repeat

    erasures = [e for e in platform.audit(row["nip"]) if e["type"] == "RecordErased"]
    assert len(erasures) == 1 and erasures[0]["actor"]["role"] == "admin"
    assert erasures[0]["actor"]["id"].startswith("cli:")
    unknown = pupns(cfg, "record", "erase", "199001012015031999", "--reason", "x", expect=1)
    assert '"not_found"' in unknown.stderr
