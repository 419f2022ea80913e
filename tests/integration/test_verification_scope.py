"""A verifier learns nothing about NIPs outside their instansi (issue 11): a NIP with a record in another
instansi and a NIP never issued answer the same 403; 404 only for a known NIP of their own instansi."""
from datetime import UTC, datetime

import pytest
from nameko.standalone.events import event_dispatcher

from pupns.errors import AppError
from pupns_dev.waiting import wait_until
from tests.factories import NIP, roster_row, upstream_message
from tests.rpc import signed_proxy
from verification.service import VerificationService

OWN = {"id": "verif-a1", "role": "verifier", "instansi_kode": "A1"}
OTHER = {"id": "verif-b2", "role": "verifier", "instansi_kode": "B2"}
ADMIN = {"id": "admin", "role": "admin", "instansi_kode": None}
NEVER_ISSUED = "199001012015011999"


def answer(call, *args) -> tuple[str, str]:
    with pytest.raises(AppError) as err:
        call(*args)
    return err.value.code, str(err.value)


def test_other_instansi_and_never_issued_nips_answer_alike(runner_factory, rabbit_config, db_prefix):
    runner_factory(rabbit_config, VerificationService).start()
    dispatch = event_dispatcher(rabbit_config)
    dispatch("identity", "RegistrationSubmitted", upstream_message("RegistrationSubmitted", {
        "registration_number": "PUPNS-2025-SCOPE001", "nip": NIP, "email": "budi@example.id", "nama": "Budi",
        "instansi_kode": "A1", "instansi_nama": "Kota Bandung", "unit_kerja": "Diskominfo", "roster": roster_row(),
        "registered_at": datetime.now(UTC).isoformat()}, nip=NIP))
    with signed_proxy("verification", rabbit_config) as verification:
        wait_until(lambda: verification.list_registrations(OWN)["items"], message="registration queued")
        routes = {
            "confirm": lambda nip, actor: verification.confirm_registration(nip, actor),
            "reject": lambda nip, actor: verification.reject_registration(nip, "Bukan pegawai kami.", actor),
            "submission": lambda nip, actor: verification.get_submission(nip, actor),
            "approve": lambda nip, actor: verification.approve_submission(nip, actor),
            "return": lambda nip, actor: verification.return_submission(nip, {"data_utama": "Periksa."}, actor),
        }
        for name, call in routes.items():
            elsewhere = answer(call, NIP, OTHER)
            assert elsewhere[0] == "forbidden", name
            assert answer(call, NEVER_ISSUED, OTHER) == elsewhere, name
            assert answer(call, NEVER_ISSUED, OWN) == elsewhere, name
            assert answer(call, NEVER_ISSUED, ADMIN)[0] == "not_found", name
        # Registered in the verifier's own instansi, not submitted: the submission routes say 404.
        for name in ("submission", "approve", "return"):
            assert answer(routes[name], NIP, OWN)[0] == "not_found", name
