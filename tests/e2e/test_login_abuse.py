"""A wrong password never locks the rightful owner out (SPEC Abuse): the device cookie."""
from __future__ import annotations

import requests

from tests.e2e.conftest import PASSWORD


def test_fifty_wrong_passwords_from_one_client_do_not_stop_the_owner_with_the_device_cookie(platform):
    row = platform.take_row()
    platform.confirmed_pns(row)
    url = platform.url("/api/v1/auth/token")
    owner, guesser = requests.Session(), requests.Session()
    first = owner.post(url, json={"username": row["nip"], "password": PASSWORD}, timeout=30)
    assert first.status_code == 200, first.text
    cookie = first.headers["Set-Cookie"]
    assert cookie.startswith("pupns_device=") and "HttpOnly" in cookie and "Path=/api/v1/auth" in cookie

    answers = [guesser.post(url, json={"username": row["nip"], "password": f"salah-sandi-{i:02d}"}, timeout=30)
               for i in range(50)]
    codes = [a.status_code for a in answers]
    assert set(codes) <= {401, 429} and codes[0] == 401 and 429 in codes  # the guesser is slowed down
    for answer in answers:
        if answer.status_code == 429:
            assert int(answer.headers["Retry-After"]) >= 1
            assert answer.json()["error"]["code"] in ("too_many_attempts", "rate_limited")

    again = owner.post(url, json={"username": row["nip"], "password": PASSWORD}, timeout=30)
    assert again.status_code == 200, again.text  # at once: the owner is judged on its own failures alone
    spaced = f"{row['nip'][:8]} {row['nip'][8:14]} {row['nip'][14:]}"
    assert guesser.post(url, json={"username": spaced, "password": PASSWORD}, timeout=30).status_code == 429
