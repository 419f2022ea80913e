"""forms reads verification's RegistrationConfirmed through its contract: one roster shape, the flat row."""
from __future__ import annotations

from nameko.standalone.events import event_dispatcher

from forms.service import FormsService
from pupns.contracts import DEAD_LETTERS
from pupns.personal import is_sealed
from pupns.personal.provider import default_codec
from pupns_dev.waiting import wait_until
from tests.factories import NIP, roster_row, upstream_message

ROW = roster_row()


def confirmed(roster: dict) -> dict:
    return upstream_message("RegistrationConfirmed", {"registration_number": "PUPNS-2026-ABCD1234", "nama": "Budi",
                                                      "instansi_kode": "A1", "roster": roster,
                                                      "email": "budi@example.id"}, nip=NIP)


def test_a_wrapped_roster_is_dead_lettered_and_the_flat_row_opens_the_form_prefilled(
        runner_factory, rabbit_config, store_for):
    runner_factory(rabbit_config, FormsService).start()
    store = store_for("forms")
    dispatch = event_dispatcher(rabbit_config)
    wrapped = confirmed({"row": ROW})
    dispatch("verification", "RegistrationConfirmed", wrapped)
    letter = wait_until(lambda: store.db[DEAD_LETTERS].find_one(
        {"_id": f"handle_registration_confirmed:{wrapped['event_id']}"}), message="dead letter kept")
    assert "roster" in letter["reason"]
    assert store.read_stream(f"form-{NIP}") == []

    dispatch("verification", "RegistrationConfirmed", confirmed(ROW))
    form = wait_until(lambda: store.db["forms"].find_one({"_id": NIP}), message="form opened")
    assert form["status"] == "draft" and form["instansi_kode"] == "A1"
    utama, codec = form["sections"]["data_utama"], default_codec()
    assert is_sealed(utama["nik"]) and is_sealed(utama["email"])  # sealed before the append (SPEC §7)
    assert codec.open_(NIP, utama["nik"]) == ROW["nik"]
    assert codec.open_(NIP, utama["email"]) == "budi@example.id"
