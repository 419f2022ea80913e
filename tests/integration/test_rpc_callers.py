"""Services verify who calls them (issue 11): a call without a valid caller token is refused, and so is one whose
actor argument is not the actor its token was signed for; the platform's own clients sign every call."""
from __future__ import annotations

import pytest
from nameko.standalone.rpc import ServiceRpcProxy

from pupns import callers
from pupns.deadlines import rpc
from pupns.errors import AppError
from pupns.rpc_client import RpcBackend

ADMIN = {"id": "admin", "role": "admin", "instansi_kode": None}
VERIFIER = {"id": "v-4011", "role": "verifier", "instansi_kode": "4011"}


class GuardedService:
    """Echoes the actor it was called for."""

    name = "caller_probe"

    @rpc
    def whoami(self, note: str, actor: dict) -> dict:
        return {"note": note, "actor": actor}

    @rpc
    def ping(self) -> str:
        return "pong"


@pytest.fixture
def service(runner_factory, rabbit_config):
    runner = runner_factory(rabbit_config, GuardedService)
    runner.start()
    return rabbit_config


def proxy(config: dict, token: str | None) -> ServiceRpcProxy:
    context = {callers.CONTEXT_KEY: token} if token is not None else None
    return ServiceRpcProxy("caller_probe", config, context_data=context, timeout=10)


def refusal(config: dict, token: str | None, call) -> str:
    with proxy(config, token) as probe, pytest.raises(AppError) as err:
        call(probe)
    return err.value.code


def test_a_call_without_a_valid_caller_token_is_refused(service):
    assert refusal(service, None, lambda p: p.ping()) == "unauthorized"
    assert refusal(service, "forged.k1.0123456789abcdef0123456789abcdef", lambda p: p.ping()) == "unauthorized"
    expired = callers.token("edge", ttl=-1)
    assert refusal(service, expired, lambda p: p.ping()) == "unauthorized"
    other_method = callers.token("edge", method="caller_probe.whoami")
    assert refusal(service, other_method, lambda p: p.ping()) == "unauthorized"


def test_an_actor_other_than_the_signed_one_is_forbidden(service):
    signed_for_verifier = callers.token("edge", VERIFIER)
    assert refusal(service, signed_for_verifier, lambda p: p.whoami("x", ADMIN)) == "forbidden"
    assert refusal(service, signed_for_verifier, lambda p: p.whoami("x", actor=ADMIN)) == "forbidden"
    with proxy(service, signed_for_verifier) as probe:
        assert probe.whoami("ok", VERIFIER)["actor"] == VERIFIER


def test_the_platform_client_signs_each_call_with_the_actor_it_carries(service):
    backend = RpcBackend(service["AMQP_URI"], timeout=10, component="console")
    try:
        assert backend.call("caller_probe", "whoami", "hai", VERIFIER) == {"note": "hai", "actor": VERIFIER}
        assert backend.call("caller_probe", "whoami", "hai", actor=ADMIN)["actor"] == ADMIN
        assert backend.call("caller_probe", "ping") == "pong"
    finally:
        backend.close()
