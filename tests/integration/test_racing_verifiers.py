"""Two verifiers of one instansi deciding the same record at the same moment: exactly one wins.

Real concurrency on real RabbitMQ and SecantusDB: two replicas of the verification service consume the same
RPC queue, two threads (green, as nameko's are) post through the edge at once, released together by a
barrier, many rounds. Each round: one 200, one 409 `invalid_state`, exactly one decision event in the log.
"""
from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable

import pytest
from werkzeug.test import Client

from edge.http.app import create_app
from edge.rpc import NamekoBackend
from edge.settings import Settings
from edge.storage.store import MemoryEdgeStore
from pupns.auth import issue_token
from pupns.contracts.forms import FormSubmitted
from pupns.contracts.identity import RegistrationSubmitted
from tests.factories import roster_row, upstream_message
from verification import commands
from verification.adapters import Deps
from verification.service import VerificationService

ROUNDS = 30
DECISIONS = {"registration": {"RegistrationConfirmed", "RegistrationRejected"},
             "submission": {"SubmissionApproved", "SubmissionReturned"}}


def bearer(username: str) -> dict:
    return {"Authorization": "Bearer " + issue_token(username, "verifier", "A1")["access_token"]}


@pytest.fixture
def edge(runner_factory, rabbit_config, store_for):
    """The edge over real RPC to two verification replicas; yields (client factory, verification store)."""
    runner_factory(rabbit_config, VerificationService).start()
    runner_factory(rabbit_config, VerificationService).start()
    backend = NamekoBackend(rabbit_config["AMQP_URI"], timeout=30)
    settings = Settings(background=False, user_rate=1000.0, user_burst=1000.0, capacity_initial=16,
                        capacity_max=16)
    app = create_app(backend=backend, store=MemoryEdgeStore(), settings=settings)
    yield (lambda: Client(app)), store_for("verification")
    backend.close()


def new_nip(round_no: int) -> str:
    return f"19850312{round_no:04d}{uuid.uuid4().int % 10**6:06d}"


def registered(store, nip: str) -> None:
    data = {"registration_number": f"PUPNS-2015-{nip[-8:]}", "nip": nip, "email": "a@b.id", "nama": "Budi",
            "instansi_kode": "A1", "instansi_nama": "Kota Bandung", "roster": roster_row(nip=nip),
            "registered_at": "2015-09-01T08:00:00+07:00"}
    message = upstream_message("RegistrationSubmitted", data, nip=nip)
    commands.receive_registration(Deps.of(store), RegistrationSubmitted.from_message(message),
                                  commands.consumer_meta(message), f"test:{message['event_id']}")


def submitted(store, nip: str) -> None:
    data = {"sections": {"data_utama": {"nama": "Budi"}}, "submitted_at": "2015-09-01T08:00:00+07:00",
            "anomalies": [], "instansi_kode": "A1"}
    message = upstream_message("FormSubmitted", data, nip=nip)
    commands.receive_submission(Deps.of(store), FormSubmitted.from_message(message), commands.consumer_meta(message),
                                f"test:{message['event_id']}")


def race(clients: list[Client], requests: list[tuple[str, dict | None]], headers: list[dict]) -> list:
    """Send the requests at the same moment, one per thread; the answers in request order."""
    barrier, answers = threading.Barrier(len(requests)), [None] * len(requests)

    def run(i: int) -> None:
        path, body = requests[i]
        barrier.wait()
        answers[i] = clients[i].post(path, json=body, headers=headers[i])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


def rounds(edge, kind: str, seed: Callable, pairs: list[tuple[tuple[str, dict | None], tuple[str, dict | None]]]):
    client_of, store = edge
    clients, headers = [client_of(), client_of()], [bearer("verif-a1-satu"), bearer("verif-a1-dua")]
    winners: Counter[int] = Counter()
    for round_no in range(ROUNDS):
        nip = new_nip(round_no)
        seed(store, nip)
        first, second = pairs[round_no % len(pairs)]
        requests = [(f"/api/v1/verifier/{kind}s/{nip}/{first[0]}", first[1]),
                    (f"/api/v1/verifier/{kind}s/{nip}/{second[0]}", second[1])]
        answers = race(clients, requests, headers)
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [200, 409], (round_no, [(a.status_code, a.json) for a in answers])
        loser = next(a for a in answers if a.status_code == 409)
        assert loser.json["error"]["code"] == "invalid_state"
        decisions = [e["type"] for e in store.read_stream(f"{kind}-{nip}") if e["type"] in DECISIONS[kind]]
        assert len(decisions) == 1, decisions
        winners[answers.index(next(a for a in answers if a.status_code == 200))] += 1
    return winners


def test_two_verifiers_confirming_or_rejecting_one_registration_at_once(edge):
    confirm, reject = ("confirm", None), ("reject", {"reason": "NIK tidak cocok dengan KTP"})
    winners = rounds(edge, "registration", registered, [(confirm, confirm), (confirm, reject), (reject, confirm)])
    assert set(winners) == {0, 1}, "either verifier can win: the race is not decided by who started first"


def test_two_verifiers_approving_or_returning_one_submission_at_once(edge):
    approve, give_back = ("approve", None), ("return", {"notes": {"data_utama": "Perbaiki gelar"}})
    winners = rounds(edge, "submission", submitted, [(approve, approve), (approve, give_back),
                                                     (give_back, approve), (give_back, give_back)])
    assert set(winners) == {0, 1}, "either verifier can win: the race is not decided by who started first"
