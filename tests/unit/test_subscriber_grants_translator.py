"""The relay's public translator of verification with field grants: default copy, granted copies, grants cache."""
from __future__ import annotations

from pupns.personal import ERASED, PERSONAL_FIELDS
from pupns.relay import public_event_id
from verification.adapters.public_events import PublicEvents, granted_key
from verification.domain.grants import GRANTABLE, SubscriberGrants, checked_grants

NIP = "198503122010011001"
TOKENS = {"enc:v1:00000000000000aa:bmlr": "3201011203850001", "enc:v1:00000000000000aa:bnB3cA": "012345678901000",
          "enc:v1:00000000000000aa:YnBqcw": "0001234567890"}


class FakeCodec:
    """Opens the tokens above; `erased` makes every one read as erased."""

    def __init__(self, erased: bool = False) -> None:
        self.erased, self.opened = erased, []

    def open_(self, nip: str, token):
        if token not in TOKENS:
            return token
        self.opened.append(token)
        return ERASED if self.erased else TOKENS[token]


def approved() -> dict:
    token = {v: k for k, v in TOKENS.items()}
    sections = {"data_utama": {"nama": "Budi", "nik": token["3201011203850001"], "npwp": token["012345678901000"]},
                "data_stakeholder": {"bpjs_kesehatan_nomor": token["0001234567890"], "kpe_nomor": "K-1"},
                "riwayat_pendidikan": [{"tingkat": "S1", "nama_sekolah": "ITB"}]}
    return {"_id": "stored-1", "type": "SubmissionApproved", "nip": NIP, "instansi_kode": "A1",
            "data": {"sections": sections}, "meta": {"occurred_at": "2026-09-01T08:00:00+00:00"}}


def test_default_copy_only_without_grants_and_no_personal_field():
    [(key, payload)] = list(PublicEvents(lambda: {}, FakeCodec, ttl=0)(approved()))
    assert key == payload["type"] == "pns.data_verified.v1"
    assert payload["data"]["sections"] == {"data_utama": {"nama": "Budi"}, "data_stakeholder": {"kpe_nomor": "K-1"},
                                           "riwayat_pendidikan": [{"tingkat": "S1", "nama_sekolah": "ITB"}]}


def test_granted_copy_adds_exactly_the_granted_fields_opened_and_nothing_else_is_decrypted():
    codec = FakeCodec()
    copies = dict(PublicEvents(lambda: {"bpjs": ["bpjs_kesehatan_nomor"], "dukcapil": ["nik"]}, lambda: codec,
                               ttl=0)(approved()))
    assert set(copies) == {"pns.data_verified.v1", granted_key("bpjs"), granted_key("dukcapil")}
    dukcapil, default = copies[granted_key("dukcapil")], copies["pns.data_verified.v1"]
    assert dukcapil["type"] == "pns.data_verified.v1" and dukcapil["nip"] == NIP
    assert dukcapil["event_id"] == public_event_id("stored-1", granted_key("dukcapil")) != default["event_id"]
    assert dukcapil["data"]["sections"]["data_utama"] == {"nama": "Budi", "nik": "3201011203850001"}
    assert copies[granted_key("bpjs")]["data"]["sections"]["data_stakeholder"] == {
        "kpe_nomor": "K-1", "bpjs_kesehatan_nomor": "0001234567890"}
    assert sorted(TOKENS[t] for t in codec.opened) == ["0001234567890", "3201011203850001"]  # never the NPWP


def test_an_erased_pns_gives_null_granted_fields():
    copies = dict(PublicEvents(lambda: {"dukcapil": ["nik", "npwp"]}, lambda: FakeCodec(erased=True),
                               ttl=0)(approved()))
    utama = copies[granted_key("dukcapil")]["data"]["sections"]["data_utama"]
    assert utama == {"nama": "Budi", "nik": None, "npwp": None}


def test_other_public_events_have_no_granted_copy_and_grants_are_cached_for_ttl():
    loads, now = [], [0.0]

    def grants():
        loads.append(1)
        return {"dukcapil": ["nik"]}

    translator = PublicEvents(grants, FakeCodec, ttl=2.0, clock=lambda: now[0])
    confirmed = {**approved(), "type": "RegistrationConfirmed", "data": {"registration_number": "R-1"}}
    assert [key for key, _ in translator(confirmed)] == ["pns.registered.v1"] and loads == []
    for at in (0.0, 1.9, 2.0):
        now[0] = at
        assert len(list(translator(approved()))) == 2
    assert len(loads) == 2  # read at 0, reused at 1.9, read again at 2.0


def test_grantable_fields_and_checks():
    assert set(GRANTABLE) == PERSONAL_FIELDS - {"password_hash"}
    assert checked_grants("dukcapil", ["npwp", "nik", "nik"]) == ("dukcapil", ["nik", "npwp"])
    grants = SubscriberGrants("dukcapil")
    assert grants.set(["nik"]) is True and grants.set(["nik"]) is False and grants.set([]) is True
    assert [(e.fields, e.previous) for e in grants.pending] == [(["nik"], []), ([], ["nik"])]
