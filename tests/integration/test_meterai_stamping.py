"""Surat Pernyataan + e-Meterai on real RabbitMQ and SecantusDB, with the fake provider as its own process.

An e-Meterai outage never touches the submission: the statement waits, is retried until stamped, and the
PNS sees the state on GET /me (status stays `submitted`).
"""
from __future__ import annotations

import base64
import hashlib
import json
import urllib.request
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta

import pytest
from nameko.standalone.events import event_dispatcher

from documents.adapters.projections import Projector
from documents.service import DocumentsService
from identity.service import IdentityService
from pupns.errors import AppError
from pupns.replay import rebuild
from pupns_cli.generate import generate_rows, roster_csv
from pupns_dev import meterai_sim
from pupns_dev.processes import free_port, stop
from pupns_dev.waiting import wait_until
from tests.rpc import signed_proxy

ADMIN = {"id": "admin", "role": "admin", "instansi_kode": None}
SUBMITTED_AT = "2015-12-29T23:59:58.000+07:00"  # two days before the deadline, as in 2024


class Provider:
    """The fake e-Meterai process and its outage switch."""

    def __init__(self, tmp_path, down: bool):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = meterai_sim.start(self.port, tmp_path / "meterai.log", down=down)

    def _call(self, path: str, body: dict | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method="POST" if data else "GET")
        with urllib.request.urlopen(request, timeout=5) as answer:
            return json.loads(answer.read())

    def outage(self, down: bool) -> dict:
        return self._call("/_outage", {"down": down})

    def status(self) -> dict:
        return self._call("/_status")


@pytest.fixture
def provider_factory(tmp_path, monkeypatch):
    started: list[Provider] = []

    def start(down: bool = False) -> Provider:
        provider = Provider(tmp_path, down)
        started.append(provider)
        monkeypatch.setenv("PUPNS_METERAI_URL", provider.url)
        return provider

    monkeypatch.setenv("PUPNS_METERAI_RETRY_BASE", "0.2")
    monkeypatch.setenv("PUPNS_METERAI_RETRY_MAX", "1")
    yield start
    for provider in started:
        stop(provider.proc)


@pytest.fixture
def platform(runner_factory, rabbit_config, db_prefix):
    """identity + documents, and a confirmed PNS (a roster row) whose timeline we read."""

    proxies = ExitStack()

    def start() -> tuple:
        runner_factory(rabbit_config, IdentityService, DocumentsService).start()
        identity = proxies.enter_context(signed_proxy("identity", rabbit_config, timeout=60))
        documents = proxies.enter_context(signed_proxy("documents", rabbit_config, timeout=60))
        [row] = generate_rows(1, seed=71)
        identity.import_roster(roster_csv(1, seed=71), ADMIN)
        now = datetime.now(UTC)
        identity.set_campaign({"opens_at": (now - timedelta(days=1)).isoformat(),
                               "closes_at": (now + timedelta(days=2)).isoformat()}, ADMIN)
        number = identity.register({"nip": row["nip"], "nik": row["nik"], "email": "pns@example.go.id",
                                    "password": "rahasia-negara-1"})["registration_number"]
        dispatch(rabbit_config, "verification", "RegistrationConfirmed", row,
                 {"registration_number": number, "nama": row["nama"], "roster": row})  # as its contract says
        wait_until(lambda: identity.get_me(row["nip"])["status"] == "draft", message="account activated")
        return identity, documents, row

    with proxies:
        yield start


def dispatch(rabbit_config, source: str, event_type: str, row: dict, data: dict, event_id: str | None = None) -> dict:
    message = {"event_id": event_id or uuid.uuid4().hex, "stream": f"form-{row['nip']}", "version": 3,
               "type": event_type, "occurred_at": datetime.now(UTC).isoformat(), "nip": row["nip"],
               "instansi_kode": row["instansi_kode"], "data": data, "meta": {"actor": row["nip"], "role": "pns"}}
    event_dispatcher(rabbit_config)(source, event_type, message)
    return message


def form_submitted(rabbit_config, row: dict, event_id: str | None = None) -> dict:
    sections = {"data_utama": {"nama": row["nama"]}, "data_posisi": {"jabatan": row["jabatan"],
                                                                      "unit_kerja": row["unit_kerja"]}}
    return dispatch(rabbit_config, "forms", "FormSubmitted", row, {
        "sections": sections, "submitted_at": SUBMITTED_AT, "anomalies": [], "instansi_kode": row["instansi_kode"],
        "nama": row["nama"]}, event_id)


def types(store, stream: str) -> list[str]:
    return [e["type"] for e in store.read_stream(stream)]


def timeline_types(identity, nip: str) -> list[str]:
    return [entry["type"] for entry in identity.get_me(nip)["timeline"]]


def pns(row: dict) -> dict:
    return {"id": row["nip"], "role": "pns", "instansi_kode": row["instansi_kode"]}


def test_submission_gets_a_stamped_statement_the_pns_can_see_and_download(platform, provider_factory,
                                                                          rabbit_config, store_for):
    provider_factory(down=False)
    identity, documents, row = platform()
    message = form_submitted(rabbit_config, row)
    store, stream = store_for("documents"), f"statement-{message['event_id']}"

    wait_until(lambda: types(store, stream) == ["StatementIssued", "StampRequested", "StatementStamped"],
               message="statement stamped")
    # The stamp never shows before the submission it follows, whichever consumer ran first ("requested" is
    # left out when the stamp overtook it: the handlers' queues are not ordered across event types).
    timeline = wait_until(lambda: (t := timeline_types(identity, row["nip"]))[-1] == "statement_stamped"
                          and "submitted" in t and t, message="timeline")
    assert timeline[timeline.index("submitted") + 1:] in (["stamp_requested", "statement_stamped"],
                                                          ["statement_stamped"])
    me = identity.get_me(row["nip"])
    assert me["status"] == "submitted"
    assert me["timeline"][-1]["note"] == "Surat pernyataan telah dibubuhi e-Meterai."

    got = documents.get_statement(row["nip"], pns(row))
    content = base64.b64decode(got["content_b64"])
    assert got["state"] == "stamped" and got["stamped"] and got["attempts"] == 1
    assert got["submitted_at"] == SUBMITTED_AT and got["stamp_serial"].startswith("EMT-")
    assert hashlib.sha256(content).hexdigest() == got["sha256"] and content.startswith(b"%PDF-")
    assert f"serial={got['stamp_serial']}".encode() in content
    stamped = store.read_stream(stream)[-1]["data"]
    assert stamped["sha256"] == got["sha256"] and stamped["stamp_serial"] == got["stamp_serial"]
    verifier = {"id": "v1", "role": "verifier", "instansi_kode": row["instansi_kode"]}
    assert documents.get_statement(row["nip"], verifier)["sha256"] == got["sha256"]
    with pytest.raises(AppError) as other_pns:
        documents.get_statement(row["nip"], {**pns(row), "id": "199001012015011001"})
    assert other_pns.value.code == "not_found"
    with pytest.raises(AppError) as other_instansi:
        documents.get_statement(row["nip"], {**verifier, "instansi_kode": "9999"})
    assert other_instansi.value.code == "forbidden"


def test_outage_keeps_the_submission_retries_until_stamped_and_replay_is_equal(platform, provider_factory,
                                                                               rabbit_config, store_for):
    provider = provider_factory(down=True)
    identity, documents, row = platform()
    message = form_submitted(rabbit_config, row)
    store, stream = store_for("documents"), f"statement-{message['event_id']}"

    def failures() -> list[dict]:
        return [e["data"] for e in store.read_stream(stream) if e["type"] == "StampFailed"]

    wait_until(lambda: len(failures()) >= 2, timeout=30, message="two failed attempts")
    assert [f["attempt"] for f in failures()][:2] == [1, 2]
    assert failures()[0]["retryable"] and failures()[0]["error"].startswith("unavailable: HTTP 503")
    wait_until(lambda: "stamp_pending" in timeline_types(identity, row["nip"]), message="pending shown")
    me = identity.get_me(row["nip"])
    assert me["status"] == "submitted"  # the submission stands; only the stamp waits
    pending = next(t for t in me["timeline"] if t["type"] == "stamp_pending")
    assert pending["note"].startswith("Menunggu e-Meterai (layanan e-Meterai sedang gangguan")
    waiting = documents.get_statement(row["nip"], pns(row))
    assert waiting["state"] == "retrying" and not waiting["stamped"] and waiting["submitted_at"] == SUBMITTED_AT
    assert base64.b64decode(waiting["content_b64"]).startswith(b"%PDF-") and "last_error" not in waiting
    assert documents.get_statement(row["nip"], ADMIN)["last_error"].startswith("unavailable")

    provider.outage(False)
    wait_until(lambda: types(store, stream)[-1] == "StatementStamped", timeout=30, message="stamped after outage")
    timeline = wait_until(lambda: (t := timeline_types(identity, row["nip"]))[-1] == "statement_stamped" and t,
                          message="timeline")
    assert timeline[timeline.index("submitted") + 1:] in (["stamp_requested", "stamp_pending", "statement_stamped"],
                                                          ["stamp_pending", "statement_stamped"])
    assert timeline.count("stamp_pending") == 1  # every retry is an event, not a timeline line
    got = documents.get_statement(row["nip"], pns(row))
    assert got["stamped"] and got["attempts"] == len(failures()) + 1 and got["submitted_at"] == SUBMITTED_AT
    assert identity.get_me(row["nip"])["status"] == "submitted"
    assert provider.status()["stamped"] == 1

    def snapshot() -> dict:
        return {name: sorted(store.db[name].find(), key=lambda d: str(d["_id"])) for name in Projector.collections}

    before = snapshot()
    rebuild(store, Projector(store.db))
    assert snapshot() == before


def test_duplicate_form_submitted_delivery_makes_one_statement(runner_factory, rabbit_config, db_prefix,
                                                               provider_factory, store_for):
    provider = provider_factory(down=False)
    runner_factory({**rabbit_config, "max_workers": 1}, DocumentsService).start()
    [row, marker_row] = generate_rows(2, seed=72)
    message = form_submitted(rabbit_config, row)
    form_submitted(rabbit_config, row, event_id=message["event_id"])
    marker = form_submitted(rabbit_config, marker_row)
    store = store_for("documents")

    wait_until(lambda: types(store, f"statement-{marker['event_id']}")[-1:] == ["StatementStamped"],
               message="marker stamped")
    assert types(store, f"statement-{message['event_id']}") == ["StatementIssued", "StampRequested",
                                                               "StatementStamped"]
    assert store.db["statements"].count_documents({"nip": row["nip"]}) == 1
    assert provider.status()["stamped"] == 2
