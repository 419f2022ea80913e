"""The SMTP adapter against the real local SMTP sink: kept-open connections, and a dropped one costs no e-mail."""
from __future__ import annotations

import email
import email.policy

import pytest

from notifications.adapters.mailer import DeliveryFailed, SmtpMailer
from pupns_dev.processes import free_port, start_smtp_sink, stop


def received(maildir) -> list:
    return [email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            for path in sorted(maildir.glob("*.eml"))]


@pytest.fixture
def sink(tmp_path):
    port, maildir = free_port(), tmp_path / "mail"
    started = {"proc": start_smtp_sink(port, maildir, tmp_path / "smtp.log")}

    def restart() -> None:
        stop(started["proc"])
        started["proc"] = start_smtp_sink(port, maildir, tmp_path / "smtp.log")
    yield port, maildir, restart
    stop(started["proc"])


def test_messages_share_a_kept_connection_and_a_dropped_one_is_replaced_without_losing_a_message(sink):
    port, maildir, restart = sink
    mailer = SmtpMailer("127.0.0.1", port)
    for n in range(3):
        mailer.send(f"pns{n}@contoh.go.id", "Pendaftaran PUPNS diterima", f"Nomor {n}", f"m{n}")
    first = received(maildir)
    assert [m["To"] for m in first] == [f"pns{n}@contoh.go.id" for n in range(3)]
    assert len({m["X-Sink-Peer"] for m in first}) == 1  # one SMTP session for the three

    restart()  # the server goes away and comes back: the kept connection is dead
    mailer.send("pns9@contoh.go.id", "Pendaftaran PUPNS diterima", "Nomor 9", "m9")
    after = received(maildir)
    assert [m["To"] for m in after][-1] == "pns9@contoh.go.id" and len(after) == 4
    assert after[-1]["X-Sink-Peer"] != first[0]["X-Sink-Peer"]


def test_no_server_is_a_delivery_failure():
    with pytest.raises(DeliveryFailed):
        SmtpMailer("127.0.0.1", free_port()).send("a@contoh.go.id", "s", "b", "m")
