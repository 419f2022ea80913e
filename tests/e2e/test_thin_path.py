"""One PNS through every service over HTTP: register → confirm → login → edit → submit → approve."""
from __future__ import annotations

import email
import json

import pytest
from kombu import Connection, Exchange, Queue

from pupns_dev.waiting import wait_until

pytestmark = pytest.mark.e2e
PASSWORD = "rahasia-sekali-123"


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def mails_to(maildir, address: str) -> list[email.message.Message]:
    found = []
    for path in sorted(maildir.glob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes())
        if address in msg.get("X-Envelope-To", "") or address in msg.get("To", ""):
            found.append(msg)
    return found


def login(api, username: str, password: str) -> str:
    resp = api.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert resp.status_code == 200, resp.text
    return resp.json()["access_token"]


@pytest.fixture
def public_events(stack):
    """A queue bound to every public event, declared before the flow starts."""
    cfg, _ = stack
    with Connection(cfg.amqp_uri) as conn:
        queue = Queue("e2e-subscriber", Exchange("pupns.public", type="topic", durable=True),
                      routing_key="pns.#", durable=False, auto_delete=False)
        queue(conn.default_channel).declare()
        received: list[dict] = []

        def drain() -> list[dict]:
            bound = queue(conn.default_channel)
            while (message := bound.get(no_ack=True)) is not None:
                received.append(json.loads(message.body))
            return received
        yield drain


def test_one_pns_through_every_service(stack, api, public_events):
    cfg, demo = stack
    row = demo["rows"][0]
    nip, address = row["nip"], f"{row['nip']}@contoh.go.id"
    verifier = demo["verifiers"][row["instansi_kode"]]

    resp = api.post("/api/v1/registrations", json={"nip": nip, "nik": row["nik"], "email": address,
                                                   "password": PASSWORD})
    assert resp.status_code == 201, resp.text
    reg = resp.json()
    assert reg["status"] == "pending_confirmation" and reg["nip"] == nip
    assert reg["registration_number"].startswith("PUPNS-")
    receipt = api.get(reg["receipt_url"].replace(cfg.edge_url, ""))
    assert receipt.status_code == 200 and receipt.content.startswith(b"%PDF")
    assert receipt.headers["Content-Type"].startswith("application/pdf")
    pending = api.post("/api/v1/auth/token", json={"username": nip, "password": PASSWORD})
    assert pending.status_code == 403 and pending.json()["error"]["code"] == "registration_pending"

    vtoken = login(api, verifier["username"], verifier["password"])
    wait_until(lambda: any(i["nip"] == nip for i in api.get(
        "/api/v1/verifier/registrations?status=pending", headers=bearer(vtoken)).json()["items"]),
        message="registration visible to the verifier")
    assert api.post(f"/api/v1/verifier/registrations/{nip}/confirm", headers=bearer(vtoken)).status_code == 200

    token = wait_until(lambda: (r := api.post("/api/v1/auth/token", json={"username": nip, "password": PASSWORD}))
                       .status_code == 200 and r.json()["access_token"], message="PNS can log in")
    form = wait_until(lambda: (r := api.get("/api/v1/me/form", headers=bearer(token))).status_code == 200 and r,
                      message="form opened")
    sections = form.json()["sections"]
    assert sections["data_utama"]["nama"] == row["nama"]
    assert sections["data_utama"]["email"] == address  # the registration's address starts the form
    data_utama = {**sections["data_utama"], "no_hp": "081234567890", "status_perkawinan": "Kawin",
                  "alamat": "Jl. Merdeka No. 1, Jakarta", "email": address}
    saved = api.put("/api/v1/me/form/sections/data_utama", json=data_utama,
                    headers={**bearer(token), "If-Match": form.headers["ETag"].strip('"')})
    assert saved.status_code == 200, saved.text
    submitted = api.post("/api/v1/me/form/submit", headers=bearer(token))
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["status"] == "submitted"

    wait_until(lambda: any(i["nip"] == nip for i in api.get(
        "/api/v1/verifier/submissions?status=submitted", headers=bearer(vtoken)).json()["items"]),
        message="submission visible to the verifier")
    approved = api.post(f"/api/v1/verifier/submissions/{nip}/approve", headers=bearer(vtoken))
    assert approved.status_code == 200 and approved.json()["status"] == "verified"

    verified = wait_until(lambda: [e for e in public_events() if e["type"] == "pns.data_verified.v1"
                                   and e["nip"] == nip], message="pns.data_verified.v1 published")
    assert "nik" not in verified[0]["data"]["sections"]["data_utama"]
    wait_until(lambda: len(mails_to(cfg.maildir, address)) >= 2, timeout=30,
               message="e-mails at registration and at approval")
    me = wait_until(lambda: (r := api.get("/api/v1/me", headers=bearer(token)).json())["status"] == "verified" and r,
                    message="status verified")
    assert me["registration_number"] == reg["registration_number"]

    audit = api.get(f"/api/v1/admin/audit/{nip}", headers=bearer(demo["admin_token"]))
    assert audit.status_code == 200
    events = audit.json()["events"]
    services = {e["stream"].split("-")[0] for e in events}
    assert {"account", "registration", "form", "submission"} <= services
    times = [e["occurred_at"] for e in events]
    assert times == sorted(times)
    assert all("password_hash" not in json.dumps(e["data"]) for e in events)
