"""No NIP oracle across instansi (issue 11, SPEC §4): for a verifier, a NIP with records in another instansi and a
valid NIP never issued get the same answer on every verifier `{nip}` route: 403 `forbidden`, the same body."""
from __future__ import annotations

import statistics
import time
from datetime import date

import pytest

from pupns.nip import make_nip

pytestmark = pytest.mark.e2e
V1 = "/api/v1/verifier"
# Every verifier route on {nip}, with a body its schema accepts, so that the service's own scope check answers.
ROUTES = [
    ("POST", f"{V1}/registrations/{{nip}}/confirm", None),
    ("POST", f"{V1}/registrations/{{nip}}/reject", {"reason": "Bukan pegawai instansi ini."}),
    ("GET", f"{V1}/submissions/{{nip}}", None),
    ("POST", f"{V1}/submissions/{{nip}}/approve", None),
    ("POST", f"{V1}/submissions/{{nip}}/return", {"notes": {"data_utama": "Periksa kembali."}}),
]
TIMED_CALLS = 7


def never_issued(rows: list[dict]) -> str:
    """A NIP of valid format (birth date, CPNS month, sex, sequence) that no roster row carries."""
    taken = {row["nip"] for row in rows}
    nip = next(n for seq in range(999, 0, -1) if (n := make_nip(date(1977, 7, 7), date(2003, 3, 1), "P", seq))
               not in taken)
    return nip


def answer(platform, method: str, path: str, body: dict | None, headers: dict) -> tuple[int, dict, float]:
    started = time.perf_counter()
    resp = platform.http.request(method, platform.url(path), json=body, headers=headers, timeout=30)
    return resp.status_code, resp.json(), time.perf_counter() - started


def test_a_verifier_cannot_tell_another_instansis_nip_from_one_never_issued(platform):
    row, on_roster_only = platform.take_rows_of_one_instansi(2)
    platform.submitted_pns(row)  # a registration and a submission on record, in row's instansi
    outsider = platform.other_verifier(row["instansi_kode"])
    unknown = never_issued(platform.demo["rows"])
    for method, template, body in ROUTES:
        existing = answer(platform, method, template.format(nip=row["nip"]), body, outsider)
        missing = answer(platform, method, template.format(nip=unknown), body, outsider)
        elsewhere = answer(platform, method, template.format(nip=on_roster_only["nip"]), body, outsider)
        assert existing[0] == 403 and existing[1]["error"]["code"] == "forbidden", (template, existing)
        assert missing[:2] == existing[:2] == elsewhere[:2], (template, existing, missing, elsewhere)
        # Timing: both paths read the same things; calls alternate so that the machine's drift hits both alike.
        samples: dict[str, list[float]] = {row["nip"]: [], unknown: []}
        for _ in range(TIMED_CALLS):
            for nip, seen in samples.items():
                seen.append(answer(platform, method, template.format(nip=nip), body, outsider)[2])
        medians = {nip: statistics.median(seen) for nip, seen in samples.items()}
        assert abs(medians[row["nip"]] - medians[unknown]) < 0.05, (template, medians)
    # The record is untouched by all of that, and its own verifier still sees it.
    own = platform.verifier(row["instansi_kode"])
    resp = platform.http.get(platform.url(f"{V1}/submissions/{row['nip']}"), headers=own, timeout=30)
    assert resp.status_code == 200 and resp.json()["status"] == "submitted", resp.text


def test_a_verifier_gets_404_only_for_a_missing_record_of_their_own_instansi(platform):
    row, never_registered = platform.take_rows_of_one_instansi(2)
    platform.confirmed_pns(row)  # registered and confirmed, never submitted
    own, admin = platform.verifier(row["instansi_kode"]), platform.admin()
    for method, template, body in ROUTES:  # on the verifier's roster, never registered: no record anywhere
        status, error, _ = answer(platform, method, template.format(nip=never_registered["nip"]), body, own)
        assert (status, error["error"]["code"]) == (404, "not_found"), (template, error)
    for method, template, body in ROUTES[2:]:
        path = template.format(nip=row["nip"])
        status, error, _ = answer(platform, method, path, body, own)
        assert (status, error["error"]["code"]) == (404, "not_found"), (template, error)
        status, error, _ = answer(platform, method, template.format(nip=never_issued(platform.demo["rows"])),
                                  body, admin)
        assert (status, error["error"]["code"]) == (404, "not_found"), (template, error)
