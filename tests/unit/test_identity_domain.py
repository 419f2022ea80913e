"""identity domain rules: passwords, registration numbers, account status, throttle, campaign."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from identity.domain import rules as domain
from pupns.campaign import campaign_is_open


@pytest.mark.parametrize("password, ok", [("abcdefghij", True), ("rahasia-123", True), ("123456789a", True),
                                          ("abcdefghi", False), ("1234567890", False), ("", False)])
def test_password_policy(password, ok):
    assert (domain.password_problems(password) == []) is ok


def test_all_digit_short_password_reports_both_problems():
    assert len(domain.password_problems("12345")) == 2


def test_registration_number_shape_and_alphabet():
    numbers = {domain.new_registration_number(2026) for _ in range(500)}
    assert len(numbers) == 500
    for number in numbers:
        assert domain.REGISTRATION_PATTERN.match(number)
        assert not set(number[11:]) & set("01OI")


@pytest.mark.parametrize("email, ok", [("a@b.go.id", True), ("nama.pns+1@bkn.go.id", True), ("a@b", False),
                                       ("bukan-email", False), ("a@@b.id", False), ("a b@c.id", False)])
def test_email_syntax(email, ok):
    assert domain.is_valid_email(email) is ok


def test_public_status_follows_account_and_form():
    assert domain.Account("n", "pending_confirmation", None).public_status == "pending_confirmation"
    assert domain.Account("n", "rejected", None).public_status == "rejected"
    assert domain.Account("n", "active", None).public_status == "draft"
    assert domain.Account("n", "active", "returned").public_status == "returned"
    assert not domain.Account("n", "rejected", None).blocks_registration
    assert domain.Account("n", "active", "draft").blocks_registration


def test_login_refusal_codes():
    assert domain.login_refusal("pending_confirmation") == "registration_pending"
    assert domain.login_refusal("rejected") == "registration_rejected"
    assert domain.login_refusal("active") is None


def test_lock_window_escalates_and_is_capped():
    assert [domain.lock_seconds(n) for n in range(1, 5)] == [0, 0, 0, 0]
    assert [domain.lock_seconds(n) for n in range(5, 9)] == [30, 60, 120, 240]
    assert domain.lock_seconds(50) == 15 * 60


def test_campaign_window():
    now = datetime(2026, 9, 1, 12, tzinfo=UTC)
    window = {"opens_at": "2026-09-01T08:00:00+07:00", "closes_at": "2026-12-31T23:59:59+07:00"}
    assert campaign_is_open(window, now)
    assert not campaign_is_open(window, now + timedelta(days=200))
    assert not campaign_is_open(None, now)
    with pytest.raises(ValueError):
        domain.parse_aware("2026-09-01T08:00:00")


def test_returned_note_joins_sections():
    assert domain.returned_note({"data_utama": "foto buram", "riwayat_golongan": "SK kurang"}) == (
        "data_utama: foto buram; riwayat_golongan: SK kurang")
    assert domain.returned_note(None) is None


def test_strict_iso_date():
    assert domain.iso_date("2020-02-29").day == 29
    for bad in ("2020-2-29", "29-02-2020", "2021-02-29", "20200229"):
        with pytest.raises(ValueError):
            domain.iso_date(bad)


def test_login_failures_decay_and_a_known_device_has_its_own_count():
    from datetime import UTC, datetime, timedelta

    from identity.domain import rules as domain

    at = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    assert domain.decayed_failures(7, at, at + timedelta(minutes=4)) == 7
    assert domain.decayed_failures(7, at, at + timedelta(minutes=11)) == 5
    assert domain.decayed_failures(7, at, at + timedelta(hours=2)) == 0
    assert domain.throttle_key("199001012015031001", None) == "199001012015031001"
    assert domain.throttle_key("199001012015031001", "d1") != domain.throttle_key("199001012015031001", "d2")
