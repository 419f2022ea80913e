"""Forms use cases on the real SecantusDB: rules, nothing stored on rejection, rebuild equality."""
from datetime import UTC, datetime, timedelta

import pytest

from forms import commands
from forms.adapters import Deps
from forms.adapters.projections import Projector
from pupns.errors import AppError
from pupns.nip import make_nik
from pupns.replay import rebuild
from tests.factories import BORN, NIP, roster_row

ROW = roster_row()
UPSTREAM = {"actor": "system", "role": "system", "correlation_id": "test"}


def forms_store_with_open_campaign(store_for):
    """forms' store, its read models, and a campaign open since yesterday for thirty days."""
    store = store_for("forms")
    Projector.ensure_indexes(store.db)
    now = datetime.now(UTC)
    commands.observe_campaign(Deps.of(store), (now - timedelta(days=1)).isoformat(),
                              (now + timedelta(days=30)).isoformat(), 1, UPSTREAM, "k-campaign")
    return store


@pytest.fixture
def store(store_for):
    store = forms_store_with_open_campaign(store_for)
    commands.open_form(Deps.of(store), NIP, "A1", ROW, None, UPSTREAM, "k-open")
    return store


def rejected(call, code):
    with pytest.raises(AppError) as err:
        call()
    assert err.value.code == code
    return err.value


def test_opened_form_is_prefilled_and_versioned(store):
    form = commands.get_form(Deps.of(store), NIP)
    assert form["version"] == 1 and form["status"] == "draft" and form["notes"] == {}
    assert form["sections"]["data_utama"]["nik"] == ROW["nik"] and form["sections"]["riwayat_pendidikan"] == []
    assert "data_guru" not in form["applicable_sections"] and form["anomalies"] == []


def test_rejected_saves_store_nothing(store):
    before = store.count()
    err = rejected(lambda: commands.save_section(Deps.of(store), NIP, "riwayat_golongan", [
        {"golongan": "32", "tmt": "2014-04-01"}, {"golongan": "31", "tmt": "2013-01-01"}], 1), "validation_error")
    assert set(err.fields) == {"riwayat_golongan.1.tmt", "riwayat_golongan.1.golongan"}
    assert rejected(lambda: commands.save_section(Deps.of(store), NIP, "riwayat_diklat", [], 0),
                    "version_conflict").extra == {"version": 1}
    rejected(lambda: commands.save_section(Deps.of(store), NIP, "data_guru", {"sertifikasi": True, "sekolah": "SD"}, 1),
             "section_not_applicable")
    rejected(lambda: commands.save_section(Deps.of(store), NIP, "data_hobi", {}, 1), "unknown_section")
    rejected(lambda: commands.save_section(Deps.of(store), "199001012015011001", "riwayat_diklat", [], 1), "not_found")
    rejected(lambda: commands.get_profile_data(Deps.of(store), NIP), "not_submitted")
    assert store.count() == before


def test_submit_needs_required_sections_then_locks(store):
    incomplete = rejected(lambda: commands.submit_form(Deps.of(store), NIP), "incomplete")
    assert incomplete.fields == {"riwayat_pendidikan": ["wajib diisi"]}
    saved = commands.save_section(Deps.of(store), NIP, "riwayat_pendidikan", [
        {"tingkat": "S1", "nama_sekolah": "ITB", "tahun_lulus": 2008}], 1)
    assert saved == {"version": 2}
    result = commands.submit_form(Deps.of(store), NIP)
    assert result["status"] == "submitted"
    rejected(lambda: commands.save_section(Deps.of(store), NIP, "riwayat_diklat", [], 3), "form_locked")
    rejected(lambda: commands.submit_form(Deps.of(store), NIP), "form_locked")
    profile = commands.get_profile_data(Deps.of(store), NIP)
    assert profile["sections"]["riwayat_pendidikan"][0]["nama_sekolah"] == "ITB"
    submitted = store.read_stream(f"form-{NIP}")[-1]
    assert submitted["type"] == "FormSubmitted" and submitted["data"]["nama"] == "Budi"


def test_a_save_and_a_submit_retried_with_their_idempotency_key_get_their_first_answer(store):
    """A client whose save or submit timed out after it went through retries with the same Idempotency-Key: it gets
    the first answer, not version_conflict or form_locked, and nothing is stored twice."""
    section = [{"tingkat": "S1", "nama_sekolah": "ITB", "tahun_lulus": 2008}]
    first = commands.save_section(Deps.of(store), NIP, "riwayat_pendidikan", section, 1, "save-1")
    assert commands.save_section(Deps.of(store), NIP, "riwayat_pendidikan", section, 1, "save-1") == first
    rejected(lambda: commands.save_section(Deps.of(store), NIP, "riwayat_pendidikan", section, 1), "version_conflict")
    submitted = commands.submit_form(Deps.of(store), NIP, "submit-1")
    before = store.count()
    assert commands.submit_form(Deps.of(store), NIP, "submit-1") == submitted
    rejected(lambda: commands.submit_form(Deps.of(store), NIP, "another-key"), "form_locked")
    assert store.count() == before
    assert [e["type"] for e in store.read_stream(f"form-{NIP}")].count("FormSubmitted") == 1


def first_try_lands_after_the_retry_looked(deps: Deps, store, first_try) -> Deps:
    """`deps` whose first look for the request's key finds nothing, after which the first try commits: the retry
    of a request whose first try was still running when the client gave up on it."""
    looks = deps.forms.first_answer

    def look(key):
        deps.forms.first_answer = looks
        found = looks(key)
        first_try(Deps.of(store))
        return found
    deps.forms.first_answer = look
    return deps


def test_a_retry_that_overlaps_its_first_try_gets_the_first_answer(store):
    """The first try of a save (and of a submit) commits after its retry looked for the key: the retry is answered
    with the first answer, not version_conflict or form_locked, and nothing is stored twice."""
    section = [{"tingkat": "S1", "nama_sekolah": "ITB", "tahun_lulus": 2008}]
    save = lambda deps: commands.save_section(deps, NIP, "riwayat_pendidikan", section, 1, "save-1")  # noqa: E731
    retry = first_try_lands_after_the_retry_looked(Deps.of(store), store, save)
    assert save(retry) == {"version": 2}
    submit = lambda deps: commands.submit_form(deps, NIP, "submit-1")  # noqa: E731
    retry = first_try_lands_after_the_retry_looked(Deps.of(store), store, submit)
    assert submit(retry)["status"] == "submitted"
    assert [e["type"] for e in store.read_stream(f"form-{NIP}")] == ["FormOpened", "SectionSaved", "FormSubmitted"]


def test_a_keyed_request_that_collides_at_commit_runs_again(store):
    """The retry's append collides with its first try's open transaction: if that try commits, the re-run answers
    with its answer; if it was aborted too, the re-run does the work. Unkeyed, a collision is version_conflict."""
    from pupns.eventstore import ConcurrencyError

    section = [{"tingkat": "S1", "nama_sekolah": "ITB", "tahun_lulus": 2008}]
    deps = Deps.of(store)
    save = deps.forms.save

    def collide(first_try=None):
        def colliding_save(*args, **kwargs):
            deps.forms.save = save
            if first_try:
                first_try(Deps.of(store))
            raise ConcurrencyError(f"form-{NIP}", 1)
        deps.forms.save = colliding_save

    collide(lambda other: commands.save_section(other, NIP, "riwayat_pendidikan", section, 1, "save-1"))
    assert commands.save_section(deps, NIP, "riwayat_pendidikan", section, 1, "save-1") == {"version": 2}
    collide()  # the first try was aborted: the re-run saves
    assert commands.save_section(deps, NIP, "riwayat_diklat", [], 2, "save-2") == {"version": 3}
    collide()
    rejected(lambda: commands.save_section(deps, NIP, "riwayat_diklat", [], 3), "version_conflict")
    assert [e["type"] for e in store.read_stream(f"form-{NIP}")] == ["FormOpened", "SectionSaved", "SectionSaved"]


def test_closed_campaign_refuses_saves(store):
    past = datetime.now(UTC) - timedelta(days=10)
    commands.observe_campaign(Deps.of(store), (past - timedelta(days=5)).isoformat(), past.isoformat(), 2, UPSTREAM,
                              "k2")
    rejected(lambda: commands.save_section(Deps.of(store), NIP, "riwayat_diklat", [], 1), "campaign_closed")
    rejected(lambda: commands.submit_form(Deps.of(store), NIP), "campaign_closed")


def test_saving_a_disagreeing_nik_raises_an_anomaly_and_rebuild_gives_the_same_read_model(store):
    utama = {**commands.get_form(Deps.of(store), NIP)["sections"]["data_utama"],
             "nik": make_nik("320101", BORN, "P", 1)}
    commands.save_section(Deps.of(store), NIP, "data_utama", utama, 1)
    assert [a["code"] for a in commands.get_form(Deps.of(store), NIP)["anomalies"]] == ["nik_nip_mismatch"]
    before = {name: list(store.db[name].find().sort("_id")) for name in Projector.collections}
    rebuild(store, Projector(store.db))
    assert {name: list(store.db[name].find().sort("_id")) for name in Projector.collections} == before


def test_a_long_history_loads_from_a_snapshot_sealed_like_its_events(store):
    """Twelve saves: the form's state is kept at version 10 (pupns.snapshots), a save reads only what follows it,
    and the snapshot holds the roster's NIK sealed, as the events do."""
    from forms.domain import Form

    deps = Deps.of(store)
    for version in range(1, 13):
        section = [{"tingkat": "S1", "nama_sekolah": f"ITB {version}", "tahun_lulus": 2008}]
        assert commands.save_section(deps, NIP, "riwayat_pendidikan", section, version) == {"version": version + 1}
    snapshot = store.db["snapshots"].find_one({"_id": f"form-{NIP}"})
    assert snapshot["version"] == 10 and ROW["nik"] not in repr(snapshot)
    loaded = Deps.of(store).forms.get(NIP)
    assert loaded.snapshot_version == 10
    whole = Form.load(NIP, store.read_stream(f"form-{NIP}"))
    assert loaded.snapshot_state() == whole.snapshot_state() and loaded.version == whole.version == 13
    assert commands.get_form(deps, NIP)["sections"]["riwayat_pendidikan"][0]["nama_sekolah"] == "ITB 12"
