"""The few RabbitMQ management HTTP API calls the `pupns subscriber` commands need."""
from __future__ import annotations

import os
from typing import Any
from urllib.parse import quote

import requests

DEFAULT_API = "http://127.0.0.1:15672/api"


class SubscriberError(RuntimeError):
    """A subscriber operation could not be done; the message says why, for an operator."""


def _q(value: str) -> str:
    return quote(value, safe="")


class RabbitAdmin:
    """Management API client with administrator credentials (PUPNS_RABBIT_API / _ADMIN_USER / _ADMIN_PASSWORD)."""

    def __init__(self, api: str | None = None, user: str | None = None, password: str | None = None,
                 timeout: float = 15.0):
        self.api = (api or os.environ.get("PUPNS_RABBIT_API") or DEFAULT_API).rstrip("/")
        self.auth = (user or os.environ.get("PUPNS_RABBIT_ADMIN_USER") or "guest",
                     password or os.environ.get("PUPNS_RABBIT_ADMIN_PASSWORD") or "guest")
        self.timeout = timeout
        self.http = requests.Session()

    def _call(self, method: str, path: str, json: Any = None, missing_ok: bool = False) -> Any:
        try:
            resp = self.http.request(method, f"{self.api}/{path}", auth=self.auth, json=json, timeout=self.timeout)
        except requests.RequestException as exc:
            raise SubscriberError(f"API manajemen RabbitMQ di {self.api} tidak menjawab ({exc})") from exc
        if resp.status_code == 404 and missing_ok:
            return None
        if resp.status_code >= 400:
            try:
                reason = resp.json().get("reason") or resp.text
            except ValueError:
                reason = resp.text
            raise SubscriberError(f"RabbitMQ menolak {method} /{path}: {resp.status_code} {reason}")
        return resp.json() if resp.content else {}

    # -- broker ----------------------------------------------------------------------------------
    def vhost_exists(self, vhost: str) -> bool:
        return self._call("GET", f"vhosts/{_q(vhost)}", missing_ok=True) is not None

    def supports_quorum(self) -> bool:
        """Quorum queues exist from 3.8 on and need the `quorum_queue` feature flag enabled."""
        flags = self._call("GET", "feature-flags", missing_ok=True) or []
        return any(f.get("name") == "quorum_queue" and f.get("state") == "enabled" for f in flags)

    # -- queues, exchanges, bindings ---------------------------------------------------------------
    def get_queue(self, vhost: str, name: str) -> dict | None:
        return self._call("GET", f"queues/{_q(vhost)}/{_q(name)}", missing_ok=True)

    def queues(self, vhost: str) -> list[dict]:
        return self._call("GET", f"queues/{_q(vhost)}") or []

    def put_queue(self, vhost: str, name: str, queue_type: str) -> None:
        arguments = {"x-queue-type": "quorum"} if queue_type == "quorum" else {}
        self._call("PUT", f"queues/{_q(vhost)}/{_q(name)}",
                   {"durable": True, "auto_delete": False, "arguments": arguments})

    def delete_queue(self, vhost: str, name: str) -> None:
        self._call("DELETE", f"queues/{_q(vhost)}/{_q(name)}", missing_ok=True)

    def put_topic_exchange(self, vhost: str, name: str) -> None:
        """The same declaration the outbox relay makes (topic, durable), so either may come first."""
        self._call("PUT", f"exchanges/{_q(vhost)}/{_q(name)}",
                   {"type": "topic", "durable": True, "auto_delete": False, "internal": False, "arguments": {}})

    def bindings(self, vhost: str, exchange: str, queue: str) -> dict[str, str]:
        """routing key -> properties key of the exchange → queue bindings."""
        found = self._call("GET", f"bindings/{_q(vhost)}/e/{_q(exchange)}/q/{_q(queue)}", missing_ok=True) or []
        return {b["routing_key"]: b["properties_key"] for b in found}

    def bind(self, vhost: str, exchange: str, queue: str, routing_key: str) -> None:
        self._call("POST", f"bindings/{_q(vhost)}/e/{_q(exchange)}/q/{_q(queue)}",
                   {"routing_key": routing_key, "arguments": {}})

    def unbind(self, vhost: str, exchange: str, queue: str, properties_key: str) -> None:
        self._call("DELETE", f"bindings/{_q(vhost)}/e/{_q(exchange)}/q/{_q(queue)}/{_q(properties_key)}",
                   missing_ok=True)

    # -- users, permissions, connections -----------------------------------------------------------
    def get_user(self, name: str) -> dict | None:
        return self._call("GET", f"users/{_q(name)}", missing_ok=True)

    def put_user(self, name: str, password: str) -> None:
        """Create the user, or set its password; no tags, so it has no management-UI access."""
        self._call("PUT", f"users/{_q(name)}", {"password": password, "tags": ""})

    def delete_user(self, name: str) -> None:
        """Deleting a user also makes the broker close that user's connections."""
        self._call("DELETE", f"users/{_q(name)}", missing_ok=True)

    def permissions_of(self, name: str) -> list[dict]:
        return self._call("GET", f"users/{_q(name)}/permissions", missing_ok=True) or []

    def set_permissions(self, vhost: str, name: str, permissions: dict[str, str]) -> None:
        self._call("PUT", f"permissions/{_q(vhost)}/{_q(name)}", permissions)

    def clear_permissions(self, vhost: str, name: str) -> None:
        self._call("DELETE", f"permissions/{_q(vhost)}/{_q(name)}", missing_ok=True)

    def close_connections(self, vhost: str, name: str) -> int:
        """Close the user's connections the management view knows of (it lags a few seconds)."""
        closed = 0
        for conn in self._call("GET", f"vhosts/{_q(vhost)}/connections", missing_ok=True) or []:
            if conn.get("user") == name:
                self._call("DELETE", f"connections/{_q(conn['name'])}", missing_ok=True)
                closed += 1
        return closed
