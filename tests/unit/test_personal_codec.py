"""The field codec and its walkers, over an in-memory key store that wraps keys with a real master key."""
from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from pupns.personal import (
    ERASED,
    ERASED_MARKER,
    FieldCodec,
    MasterKeyError,
    MasterKeys,
    TamperedTokenError,
    has_personal_fields,
    is_sealed,
    open_fields,
    random_master_key,
    seal_fields,
)
from pupns.personal.errors import DataKeyNotFound
from pupns.personal.keystore import DataKey

NIP = "198503152010011001"
OTHER_NIP = "199001012015032002"


class FakeKeyStore:
    """KeyStore's two reading methods and erase, in memory; keys really wrapped by the master key."""

    def __init__(self, master: MasterKeys):
        self.master = master
        self.wrapped: dict[str, dict] = {}  # key id -> {nip, master_kid, wrapped | None}
        self.current: dict[str, str] = {}

    def data_key(self, nip: str, create: bool = True) -> DataKey | None:
        if nip not in self.current:
            key_id = f"{len(self.wrapped):016x}"
            kid, wrapped = self.master.wrap(nip, key_id, AESGCM.generate_key(bit_length=256))
            self.wrapped[key_id] = {"nip": nip, "master_kid": kid, "wrapped": wrapped}
            self.current[nip] = key_id
        return self.key_by_id(nip, self.current[nip])

    def key_by_id(self, nip: str, key_id: str) -> DataKey:
        doc = self.wrapped.get(key_id)
        if doc is None:
            raise DataKeyNotFound(key_id)
        if doc["wrapped"] is None:
            return DataKey(key_id, doc["nip"], None)
        raw = self.master.unwrap(doc["master_kid"], doc["nip"], key_id, doc["wrapped"])
        if doc["nip"] != nip:
            raise TamperedTokenError("another PNS's key")
        return DataKey(key_id, nip, AESGCM(raw))

    def erase(self, nip: str) -> None:
        key_id = self.current.pop(nip)
        self.wrapped[key_id]["wrapped"] = None


@pytest.fixture
def keys():
    return FakeKeyStore(MasterKeys.parse(random_master_key()))


@pytest.fixture
def codec(keys):
    return FieldCodec(keys, enabled=True)


def section() -> dict:
    return {"nama": "Siti Aminah", "nik": "3174015503850001", "npwp": "012345678901234", "alamat": "Jl. Melati 7",
            "no_hp": "081234567890", "email": "siti@example.go.id", "tahun": 2010,
            "stakeholder": {"bpjs_kesehatan_nomor": "0001234567890", "taspen_nomor": "T-99"},
            "riwayat": [{"nik": "3174015503850001", "nomor_sk": "SK-1"}], "kosong": None}


def test_a_sealed_value_is_a_compact_versioned_token_and_opens_back_to_the_same_json_value(codec):
    for value in ("3174015503850001", "", "Jl. Ké 7 ✓", 42, True, ["a", 1]):
        token = codec.seal(NIP, value)
        assert is_sealed(token) and token.startswith("enc:v1:")
        assert token.split(":")[2] == codec.keys.current[NIP]
        assert codec.open_(NIP, token) == value
    assert codec.seal(NIP, None) is None
    assert len(codec.seal(NIP, "3174015503850001")) < 90


def test_sealing_twice_gives_different_tokens_and_a_token_is_not_sealed_again(codec):
    first, second = codec.seal(NIP, "081234567890"), codec.seal(NIP, "081234567890")
    assert first != second
    assert codec.seal(NIP, first) == first


def test_an_altered_token_is_refused_not_read_as_another_value(codec):
    token = codec.seal(NIP, "3174015503850001")
    body = token.rsplit(":", 1)[1]
    flipped = body[:-3] + ("A" if body[-3] != "A" else "B") + body[-2:]
    with pytest.raises(TamperedTokenError):
        codec.open_(NIP, token.rsplit(":", 1)[0] + ":" + flipped)
    with pytest.raises(TamperedTokenError):
        codec.open_(NIP, token[:-6])
    with pytest.raises(TamperedTokenError):
        codec.open_(NIP, token.rsplit(":", 1)[0] + ":not base64!")


def test_a_token_copied_into_another_pns_record_does_not_open_there(codec):
    token = codec.seal(NIP, "3174015503850001")
    codec.seal(OTHER_NIP, "x")
    with pytest.raises(TamperedTokenError):
        codec.open_(OTHER_NIP, token)
    other_key = codec.keys.current[OTHER_NIP]
    forged = token.replace(codec.keys.current[NIP], other_key)
    with pytest.raises(TamperedTokenError):
        codec.open_(OTHER_NIP, forged)


def test_after_erasure_the_value_is_the_erased_marker_and_a_new_key_is_made_for_new_data(codec):
    token = codec.seal(NIP, "3174015503850001")
    blob = codec.seal_bytes(NIP, b"%PDF-1.7 ijazah")
    old_key = codec.keys.current[NIP]
    codec.keys.erase(NIP)
    assert codec.open_(NIP, token) is ERASED and not ERASED
    assert codec.open_bytes(NIP, blob) is ERASED
    fresh = codec.seal(NIP, "3174015503850001")
    assert fresh.split(":")[2] != old_key
    assert codec.open_(NIP, fresh) == "3174015503850001"
    assert codec.open_(NIP, token) is ERASED


def test_a_token_naming_a_key_the_store_never_held_is_an_error_not_an_erasure(codec):
    token = codec.seal(NIP, "x")
    with pytest.raises(DataKeyNotFound):
        codec.open_(NIP, token.replace(codec.keys.current[NIP], "ffffffffffffffff"))


def test_a_wrong_master_key_cannot_open_anything_and_says_so(keys, codec):
    token = codec.seal(NIP, "3174015503850001")
    stranger = FakeKeyStore(MasterKeys.parse(random_master_key()))
    stranger.wrapped, stranger.current = keys.wrapped, keys.current
    with pytest.raises(MasterKeyError, match="PUPNS_MASTER_KEY"):
        FieldCodec(stranger, enabled=True).open_(NIP, token)
    same_id = base64.b64encode(b"\x01" * 32).decode()
    impostor = FakeKeyStore(MasterKeys.parse(f"{keys.master.active}:{same_id}"))
    impostor.wrapped, impostor.current = keys.wrapped, keys.current
    with pytest.raises(MasterKeyError, match="does not open"):
        FieldCodec(impostor, enabled=True).open_(NIP, token)


def test_document_bytes_round_trip_and_alteration_is_detected(codec):
    content = bytes(range(256)) * 40
    blob = codec.seal_bytes(NIP, content)
    assert blob.startswith(b"PUPNSENC1") and content not in blob
    assert codec.open_bytes(NIP, blob) == content
    assert codec.open_bytes(NIP, b"%PDF clear") == b"%PDF clear"
    altered = bytearray(blob)
    altered[-1] ^= 1
    with pytest.raises(TamperedTokenError):
        codec.open_bytes(NIP, bytes(altered))


def test_seal_fields_seals_exactly_the_personal_fields_wherever_they_nest(codec):
    data = section()
    sealed = seal_fields(codec, NIP, data)
    assert data == section(), "the input is not changed"
    assert has_personal_fields(data) and not has_personal_fields(sealed)
    assert sealed["nama"] == "Siti Aminah" and sealed["tahun"] == 2010 and sealed["kosong"] is None
    assert sealed["riwayat"][0]["nomor_sk"] == "SK-1"
    for value in (sealed["nik"], sealed["stakeholder"]["taspen_nomor"], sealed["riwayat"][0]["nik"]):
        assert is_sealed(value)
    text = json.dumps(sealed)
    for clear in ("3174015503850001", "012345678901234", "Melati", "081234567890", "siti@", "0001234567890"):
        assert clear not in text
    assert open_fields(codec, NIP, sealed) == section()
    assert seal_fields(codec, NIP, {"nama": "x"}, fields={"nama"})["nama"].startswith("enc:v1:")


def test_open_fields_reads_erased_fields_as_null_and_marks_the_record(codec):
    sealed = seal_fields(codec, NIP, section())
    codec.keys.erase(NIP)
    opened = open_fields(codec, NIP, sealed)
    assert opened[ERASED_MARKER] is True
    assert opened["nik"] is None and opened["stakeholder"]["bpjs_kesehatan_nomor"] is None
    assert opened["riwayat"][0] == {"nik": None, "nomor_sk": "SK-1"}
    assert opened["nama"] == "Siti Aminah"
    rows = open_fields(codec, NIP, [sealed, {"nama": "y"}])
    assert rows[0][ERASED_MARKER] is True and ERASED_MARKER not in rows[1]
    assert ERASED_MARKER not in open_fields(codec, OTHER_NIP, {"nama": "z"})


def test_with_encryption_off_sealing_is_a_no_op_and_opening_still_reads_tokens(keys, codec):
    token = codec.seal(NIP, "3174015503850001")
    off = FieldCodec(keys, enabled=False)
    assert off.seal(NIP, "3174015503850001") == "3174015503850001"
    assert off.seal_bytes(NIP, b"pdf") == b"pdf"
    assert seal_fields(off, NIP, section()) == section()
    assert off.open_(NIP, token) == "3174015503850001"
