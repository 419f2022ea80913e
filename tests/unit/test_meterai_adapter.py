"""The e-Meterai adapter against the local fake provider: answers and every failure mapped to retry or refuse."""
from __future__ import annotations

import base64
import json
import threading
import urllib.request

import pytest

from documents.adapters.meterai import MeteraiClient, StampFailure, parse_answer
from pupns_dev import meterai_sim
from pupns_dev.processes import free_port

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture
def provider():
    server = meterai_sim.make_server(0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"

    def outage(down: bool, mode: str = "unavailable", delay: float = 2.0) -> dict:
        request = urllib.request.Request(f"{url}/_outage", method="POST",
                                         data=json.dumps({"down": down, "mode": mode, "delay": delay}).encode())
        with urllib.request.urlopen(request, timeout=5) as answer:
            return json.loads(answer.read())

    yield url, outage
    server.shutdown()
    server.server_close()


def failure(client: MeteraiClient, reference: str = "ref-1") -> StampFailure:
    with pytest.raises(StampFailure) as info:
        client.stamp(PDF, reference)
    return info.value


def test_stamp_returns_serial_and_stamped_pdf_and_is_idempotent_per_reference(provider):
    url, _ = provider
    client = MeteraiClient(url, timeout=5)
    first, again = client.stamp(PDF, "statement-a"), client.stamp(PDF, "statement-a")
    assert first.serial.startswith("EMT-") and first.pdf.startswith(PDF)
    assert f"serial={first.serial}".encode() in first.pdf
    assert again == first  # a retry after a lost answer is not stamped (and charged) twice
    assert client.stamp(PDF, "statement-b").serial != first.serial


@pytest.mark.parametrize("mode, expected", [
    ("unavailable", "unavailable: HTTP 503"),
    ("garbage", "bad answer: not JSON"),
])
def test_outage_answers_are_retryable(provider, mode, expected):
    url, outage = provider
    outage(True, mode)
    error = failure(MeteraiClient(url, timeout=5))
    assert error.retryable and error.reason.startswith(expected)
    outage(False)
    assert MeteraiClient(url, timeout=5).stamp(PDF, "after").serial


def test_a_hung_provider_is_cut_off_by_the_timeout_and_retryable(provider):
    url, outage = provider
    outage(True, "slow", delay=3.0)
    error = failure(MeteraiClient(url, timeout=0.3))
    assert error.retryable and error.reason.startswith("unreachable:") and "timed out" in error.reason


def test_no_provider_listening_is_retryable():
    error = failure(MeteraiClient(f"http://127.0.0.1:{free_port()}", timeout=2))
    assert error.retryable and error.reason.startswith("unreachable:")


def test_a_refusal_is_not_retryable_and_keeps_the_providers_reason(provider):
    url, outage = provider
    outage(True, "reject")
    error = failure(MeteraiClient(url, timeout=5))
    assert not error.retryable and error.reason == "rejected: HTTP 400 dokumen ditolak"


@pytest.mark.parametrize("body, reason", [
    ({"stamped_pdf_b64": base64.b64encode(PDF).decode()}, "bad answer: no serial"),
    ({"serial": "EMT-1", "stamped_pdf_b64": "%%%"}, "bad answer: stamped_pdf_b64 is not base64"),
    ({"serial": "EMT-1", "stamped_pdf_b64": base64.b64encode(b"MZ").decode()},
     "bad answer: stamped document is not a PDF"),
    (["EMT-1"], "bad answer: no serial"),
])
def test_malformed_answers_are_retryable(body, reason):
    with pytest.raises(StampFailure) as info:
        parse_answer(json.dumps(body).encode())
    assert info.value.retryable and info.value.reason == reason
