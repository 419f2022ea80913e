"""The admin dashboard counts a PNS whose submitted form carries anomalies (the same NIK on two NIPs, found
by forms on save), not only roster entries flagged on import."""
from __future__ import annotations

from nameko.standalone.events import event_dispatcher

from identity.adapters.projections import Projector
from pupns.replay import rebuild
from pupns_cli.generate import generate_rows
from pupns_dev.waiting import wait_until
from tests.factories import upstream_message

ADMIN = {"id": "admin", "role": "admin", "instansi_kode": None}
DUPLICATE = {"code": "nik_duplicate", "section": "data_utama", "message": "NIK yang sama tercatat pada NIP lain."}


def anomalies_of(identity, instansi: str) -> int:
    return next(r["anomalies"] for r in identity.progress(ADMIN)["by_instansi"] if r["instansi_kode"] == instansi)


def test_submitted_form_anomalies_are_counted_and_a_clean_resubmission_uncounts_them(identity, rabbit_config,
                                                                                     store_for):
    rows = list(generate_rows(2, seed=21))
    text = ",".join(rows[0]) + "\n" + "\n".join(",".join(str(v) for v in r.values()) for r in rows) + "\n"
    identity.import_roster(text, ADMIN)
    row = rows[0]
    instansi = row["instansi_kode"]
    flagged_on_import = anomalies_of(identity, instansi)
    dispatch = event_dispatcher(rabbit_config)

    def submit(anomalies: list[dict]) -> None:
        data = {"sections": {}, "submitted_at": "2015-09-01T08:00:00+07:00", "anomalies": anomalies,
                "instansi_kode": instansi, "nama": row["nama"]}
        dispatch("forms", "FormSubmitted", upstream_message("FormSubmitted", data, nip=row["nip"],
                                                            instansi_kode=instansi))

    submit([DUPLICATE])
    wait_until(lambda: anomalies_of(identity, instansi) == flagged_on_import + 1, timeout=15,
               message="the flagged submission counted")
    store = store_for("identity")
    assert store.db["roster"].find_one({"_id": row["nip"]})["form_anomalies"] == ["nik_duplicate"]

    submit([])  # returned, corrected, submitted again without anomalies
    wait_until(lambda: anomalies_of(identity, instansi) == flagged_on_import, timeout=15,
               message="the clean resubmission uncounted")
    assert [e["type"] for e in store.read_stream(f"form-anomalies-{row['nip']}")] == ["FormAnomaliesNoted"] * 2

    before = list(store.db["roster"].find().sort("_id"))
    rebuild(store, Projector(store.db))
    assert list(store.db["roster"].find().sort("_id")) == before
