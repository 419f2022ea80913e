"""Staff password changes without infrastructure: the rule on a new password, the staff aggregate, the command's
checks that come before any hash or store access, revocation of older tokens, and the CLI's password input."""
from __future__ import annotations

import io
import time
from datetime import UTC, datetime

import pytest

from identity.commands import passwords
from identity.domain import events as ev
from identity.domain.accounts import StaffAccount
from identity.domain.rules import new_password_problems
from pupns.aggregate import DomainError
from pupns.auth import decode_token, issue_token
from pupns.errors import AppError
from pupns.revocation import Revocations
from pupns_cli.staff import PasswordMismatch, read_password

VERIFIER = {"id": "verif.satu", "role": "verifier", "instansi_kode": "4011"}
ADMIN = {"id": "admin", "role": "admin", "instansi_kode": None}


class Untouchable:
    """Dependencies that fail the test when used: the refusal came before any store read or hash."""

    def __getattr__(self, name):
        raise AssertionError(f"deps.{name} used before the request was refused")


def test_a_new_password_follows_the_registration_policy_and_differs_from_the_current_one():
    assert new_password_problems("kata-sandi-baru-1", "kata-sandi-lama-1") == []
    assert new_password_problems("pendek", "kata-sandi-lama-1") == ["kata sandi minimal 10 karakter"]
    assert new_password_problems("12345678901") == ["kata sandi tidak boleh hanya berisi angka"]
    assert new_password_problems("sama-persis-123", "sama-persis-123") == [
        "kata sandi baru harus berbeda dari kata sandi saat ini"]


def test_the_staff_account_records_a_change_only_for_an_account_that_exists_and_may_act():
    staff = StaffAccount("verif.satu")
    with pytest.raises(DomainError) as missing:
        staff.change_password("enc:v1:x")
    assert missing.value.code == "not_found"
    staff.create("verifier", "4011", "enc:v1:lama")
    staff.change_password("enc:v1:baru")
    assert staff.pending[-1] == ev.StaffPasswordChanged("verif.satu", "enc:v1:baru", False)
    staff.set_active(False, "cuti")
    with pytest.raises(DomainError) as disabled:  # a disabled account does not change its own password...
        staff.change_password("enc:v1:lain")
    assert disabled.value.code == "forbidden"
    staff.change_password("enc:v1:reset", reset=True)  # ...an administrator may set it
    assert [e.type_name() for e in staff.pending] == ["StaffAccountCreated", "StaffPasswordChanged",
                                                      "StaffAccountDisabled", "StaffPasswordChanged"]
    assert staff.pending[-1].reset is True


@pytest.mark.parametrize(("actor", "current", "new", "code", "field"), [
    ({"id": "199001012015031001", "role": "pns", "instansi_kode": "4011"}, "lama-sandi-1", "baru-sandi-12",
     "forbidden", None),
    (None, "lama-sandi-1", "baru-sandi-12", "forbidden", None),
    (VERIFIER, "lama-sandi-1", "pendek", "validation_error", "new_password"),
    (VERIFIER, "lama-sandi-1", "lama-sandi-1", "validation_error", "new_password"),
    (VERIFIER, "lama-sandi-1", None, "validation_error", "new_password"),
    (VERIFIER, "lama-sandi-1", "x" * 201, "validation_error", "new_password"),
    (VERIFIER, "", "baru-sandi-12", "invalid_credentials", None),
    (VERIFIER, 42, "baru-sandi-12", "invalid_credentials", None),
])
def test_a_change_is_refused_before_any_hash_or_store_access(actor, current, new, code, field):
    with pytest.raises(AppError) as refused:
        passwords.change_own(Untouchable(), current, new, actor)
    assert refused.value.code == code
    assert (field in (refused.value.fields or {})) if field else not refused.value.fields


@pytest.mark.parametrize(("actor", "username", "new", "code"), [
    (VERIFIER, "verif.dua", "baru-sandi-12", "forbidden"),
    (ADMIN, "verif.dua", "123", "validation_error"),
    (ADMIN, "", "baru-sandi-12", "not_found"),
    (ADMIN, None, "baru-sandi-12", "not_found"),
])
def test_an_administrators_reset_is_refused_before_any_hash_or_store_access(actor, username, new, code):
    with pytest.raises(AppError) as refused:
        passwords.set_password(Untouchable(), username, new, actor)
    assert refused.value.code == code


def test_tokens_issued_before_a_change_are_void_and_one_issued_just_after_it_in_the_same_second_is_not():
    before = decode_token(issue_token("verif.satu", "verifier", "4011")["access_token"])
    changed = datetime.now(UTC).isoformat(timespec="milliseconds")  # as the event log stamps occurred_at
    passwords._after(changed)
    after = decode_token(issue_token("verif.satu", "verifier", "4011")["access_token"])
    revocations = Revocations(lambda: {"verif.satu": {"active": True, "since": changed}})
    assert revocations.revoked(before) is True
    assert revocations.revoked(after) is False
    assert int(after["iat"]) <= time.time()  # still a NumericDate PyJWT accepts (checked by decode_token above)
    other = decode_token(issue_token("verif.dua", "verifier", "4011")["access_token"])
    assert revocations.revoked(other) is False


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_cli_reads_the_password_from_stdin_or_twice_from_a_prompt_never_from_argv():
    assert read_password(io.StringIO("rahasia-baru-1\nbaris-lain\n")) == "rahasia-baru-1"
    answers = iter(["rahasia-baru-1", "rahasia-baru-1"])
    assert read_password(Terminal(), prompt=lambda _: next(answers)) == "rahasia-baru-1"
    answers = iter(["rahasia-baru-1", "rahasia-lain-1"])
    with pytest.raises(PasswordMismatch):
        read_password(Terminal(), prompt=lambda _: next(answers))
    from pupns_cli.__main__ import build_parser

    with pytest.raises(SystemExit):  # no option takes the password on the command line
        build_parser().parse_args(["staff", "set-password", "verif.satu", "--password", "x"])
