"""Helpers of the staff-account integration tests over the edge (the `staff_edge` fixture is in conftest.py)."""
from __future__ import annotations

from werkzeug.test import Client


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def token_login(client: Client, username: str, password: str) -> tuple[int, str | None]:
    """POST /api/v1/auth/token: its status and the access token, if any."""
    answer = Client(client.application).post("/api/v1/auth/token", json={"username": username, "password": password})
    return answer.status_code, (answer.json or {}).get("access_token")
