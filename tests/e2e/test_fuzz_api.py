"""Property-based fuzzing of the public API from its own OpenAPI document (issue 11 item 7), against the live stack:
schemathesis generates requests for every documented operation as every role that may call it (anonymous, PNS,
verifier, admin). No answer may be a server error, every answer must match what the document says (status codes,
content types, schemas), and a request answered 4xx must have stored nothing (tests/e2e/fuzzing.py)."""
from __future__ import annotations

import secrets
import uuid
from collections import Counter

import pytest
import schemathesis

from pupns_dev.demo import seed_demo
from pupns_dev.processes import free_port
from pupns_dev.stack import Stack, StackConfig, delete_vhost
from tests.e2e.conftest import TEST_ENV, Platform
from tests.e2e.fuzzing import Fuzzer, StoreWatch

pytestmark = pytest.mark.e2e
V1 = "/api/v1"


def operations(cfg: StackConfig, prefixes: tuple[str, ...] | None = None, exclude: tuple[str, ...] = ()) -> list:
    """The document's operations whose path starts with one of `prefixes` (all: None) and none of `exclude`."""
    schema = schemathesis.openapi.from_url(f"{cfg.edge_url}{V1}/openapi.json")
    found = [item.ok() for item in schema.get_all_operations()]
    return [op for op in found if (prefixes is None or op.path.startswith(prefixes))
            and not op.path.startswith(exclude)]


def fuzz_all(cfg: StackConfig, plan: list[tuple[str, list, dict]]) -> None:
    """Fuzz each (actor, operations, headers) in order; report every broken contract and every stored rejection."""
    watch = StoreWatch(cfg)
    fuzzer = Fuzzer(watch)
    failures = []
    try:
        for actor, found, headers in plan:
            for operation in found:
                try:
                    fuzzer.fuzz(operation, headers)
                except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collected, then reported together
                    failures.append(f"{operation.label} as {actor}: {str(exc)[:600]}")
    finally:
        watch.close()
    codes = Counter(code for code in fuzzer.codes if code)
    print(f"{fuzzer.rejected_checked} rejected requests checked {dict(codes)}; retried alone:", *fuzzer.retried,
          sep="\n  ")
    assert not failures, "\n\n".join(failures)
    assert not fuzzer.stored, "a rejected request stored something:\n" + "\n".join(fuzzer.stored)
    # The store check ran: most fuzzed requests are refused, and every one of them was checked.
    assert fuzzer.rejected_checked >= 5 * len(plan), fuzzer.rejected_checked


@pytest.fixture(scope="module")
def fuzzed_pns(platform):
    """A PNS of its own for the fuzzer (it may save and submit nonsense into that one form)."""
    return platform.confirmed_pns(platform.take_row(lambda r: "Guru" not in r["jabatan"]))


def test_every_public_and_pns_operation_answers_within_its_contract(stack, fuzzed_pns):
    """Anonymous and as a PNS, on the session's platform (nothing they can do touches other tests' records)."""
    cfg, _ = stack
    fuzz_all(cfg, [("pns", operations(cfg, (f"{V1}/me",)), dict(fuzzed_pns)),
                   ("anonymous", operations(cfg, exclude=(f"{V1}/me", f"{V1}/verifier", f"{V1}/admin")), {})])


@pytest.fixture(scope="module")
def staff_stack(tmp_path_factory):
    """A platform of its own: the admin fuzz may close the campaign, disable verifiers or erase records."""
    cfg = StackConfig(
        var=tmp_path_factory.mktemp("fuzz"), vhost=f"e2e-fuzz-{uuid.uuid4().hex[:8]}",
        mongo_port=free_port(), smtp_port=free_port(), edge_port=free_port(), console_port=free_port(),
        meterai_port=free_port(), storage=":memory:", jwt_keys=f"fuzz:{secrets.token_urlsafe(32)}",
        admin_password=secrets.token_urlsafe(12), extra_env=dict(TEST_ENV))
    running = Stack(cfg)
    running.start(progress=lambda msg: None)
    try:
        demo = seed_demo(cfg, roster_size=12, seed=23, progress=lambda msg: None)
        yield Platform(cfg, {**demo, "rows": []})
    finally:
        running.stop()
        delete_vhost(cfg.vhost)


def test_every_staff_operation_answers_within_its_contract(staff_stack):
    """As a verifier on the verifier routes, then as the admin on the admin routes (the admin's changes last)."""
    cfg = staff_stack.cfg
    verifier = staff_stack.verifier(sorted(staff_stack.demo["verifiers"])[0])
    fuzz_all(cfg, [("verifier", operations(cfg, (f"{V1}/verifier",)), verifier),
                   ("admin", operations(cfg, (f"{V1}/admin",)), staff_stack.admin())])
    staff_stack.http.close()
