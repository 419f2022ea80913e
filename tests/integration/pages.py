"""Helpers for the console's pages in integration tests (Werkzeug's Client): log in through the form, read a CSRF
token, a response's text."""
from __future__ import annotations

import re

from werkzeug.test import Client


def console_login(client: Client, username: str, password: str):
    """Log in through the console's form, with the nonce the login page hands out."""
    page = client.get("/login").get_data(as_text=True)
    nonce = re.search(r'name="login_nonce" value="([^"]+)"', page).group(1)
    return client.post("/login", data={"username": username, "password": password, "login_nonce": nonce})


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def text(response) -> str:
    return response.get_data(as_text=True)
