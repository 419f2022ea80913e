"""Demo data for `make run` and the e2e tests: admin, a synthetic roster, verifiers, an open campaign.

Everything goes through the public edge API (or the CLI where the API has no door), so the demo
exercises the same paths a real administrator uses. Re-running it changes nothing. A refusal that says
"come back later" (503, 429, a request still in progress, a connection refused while a process restarts)
is honoured: the call waits as told and is tried again, never given up (`patient`).
"""
from __future__ import annotations

import csv
import hashlib
import secrets
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

from pupns_dev.stack import StackConfig

TRANSIENT = (429, 502, 503, 504)
MAX_PAUSE_SECONDS = 30.0


def retry_after(resp: requests.Response | None, attempt: int) -> float:
    """How long to wait before the next try: the server's Retry-After, else a capped backoff."""
    if resp is not None:
        try:
            return min(max(float(resp.headers.get("Retry-After", "")), 0.2), MAX_PAUSE_SECONDS)
        except ValueError:
            pass
    return min(0.5 * 2 ** min(attempt, 6), MAX_PAUSE_SECONDS)


def patient(method: str, url: str, progress=print, *, sleep: Callable[[float], None] = time.sleep,
            **kwargs) -> requests.Response:
    """One HTTP call that waits out transient refusals (503/429 + Retry-After, 409 in progress, no connection);
    `kwargs` go to `requests.request`."""
    kwargs.setdefault("timeout", 60)
    attempt = 0
    while True:
        resp = None
        try:
            resp = requests.request(method, url, **kwargs)
            in_progress = resp.status_code == 409 and resp.headers.get("Retry-After")
            if resp.status_code not in TRANSIENT and not in_progress:
                return resp
            reason = f"{resp.status_code} {resp.text[:120]}"
        except requests.RequestException as exc:
            reason = type(exc).__name__
        pause = retry_after(resp, attempt)
        attempt += 1
        if attempt == 1 or attempt % 10 == 0:
            progress(f"  {method} {url.split('/api/v1', 1)[-1]}: {reason}; trying again in {pause:.0f} s")
        sleep(pause)


def cli(cfg: StackConfig, *args: str) -> str:
    """Run the `pupns` CLI with the stack's environment; return its stdout."""
    done = subprocess.run([sys.executable, "-m", "pupns_cli", *args], env=cfg.env(), capture_output=True,
                          text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"pupns {' '.join(args)} failed: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


def login(cfg: StackConfig, username: str, password: str, progress=print) -> str:
    """An access token for a user (waits while the platform converges: the admin may not exist yet)."""
    for attempt in range(200):
        resp = patient("POST", f"{cfg.edge_url}/api/v1/auth/token", progress,
                       json={"username": username, "password": password}, timeout=30)
        if resp.status_code == 200:
            return resp.json()["access_token"]
        time.sleep(retry_after(None, attempt))
    raise RuntimeError(f"login as {username} keeps failing: {resp.status_code} {resp.text}")


def instansi_of(roster_csv: Path) -> dict[str, str]:
    """instansi_kode -> instansi_nama found in a roster file."""
    with roster_csv.open(newline="", encoding="utf-8") as fh:
        return {row["instansi_kode"]: row["instansi_nama"] for row in csv.DictReader(fh)}


def seed_demo(cfg: StackConfig, roster_size: int = 1000, seed: int = 2015, progress=print) -> dict:
    """Create the admin, load the demo roster, one verifier per instansi, open the campaign."""
    admin = login(cfg, "admin", cfg.admin_password, progress)
    auth = {"Authorization": f"Bearer {admin}"}
    roster = cfg.var / f"demo-roster-{roster_size}-{seed}.csv"
    if not roster.exists():
        progress(f"generating a synthetic roster of {roster_size} PNS...")
        cli(cfg, "roster", "generate", "--count", str(roster_size), "--seed", str(seed), "--out", str(roster))
    progress("loading the roster through POST /api/v1/admin/roster (a job)...")
    asked_at = datetime.now(UTC)
    job = import_roster(cfg, auth, roster, progress)
    summary = job["result"]
    progress(f"  roster: {summary['imported']} imported, {summary['unchanged']} unchanged, "
             f"{len(summary['rejected'])} rejected{loaded_before(job, asked_at)}")
    verifiers = _ensure_verifiers(cfg, auth, instansi_of(roster), progress)
    _ensure_campaign(cfg, auth, progress)
    return {"roster": roster, "verifiers": verifiers, "admin_token": admin, "roster_summary": summary}


def loaded_before(job: dict, asked_at: datetime) -> str:
    """A note for a roster job an earlier run did (the same file, the same Idempotency-Key: the platform answers
    with that job), so its counts are not read as this run's."""
    created = datetime.fromisoformat(job["created_at"]) if job.get("created_at") else asked_at
    return f" (by job {job['id']} at {job['created_at']}: this file was loaded before)" if created < asked_at else ""


def import_roster(cfg: StackConfig, auth: dict, roster: Path, progress=print) -> dict:
    """POST the roster (one Idempotency-Key per file content, so a retry never starts a second job), follow it to
    its end; the job's body."""
    body = roster.read_bytes()
    key = f"demo-roster-{hashlib.sha256(body).hexdigest()[:32]}"
    resp = patient("POST", f"{cfg.edge_url}/api/v1/admin/roster", progress, data=body, timeout=120,
                   headers={**auth, "Content-Type": "text/csv", "Idempotency-Key": key, "Prefer": "wait=60"})
    if resp.status_code not in (200, 202):
        raise RuntimeError(f"roster import refused: {resp.status_code} {resp.text}")
    job = resp.json()
    while job.get("status") not in ("done", "failed"):
        url = f"{cfg.edge_url}{job.get('status_url') or resp.headers['Location']}"
        job = patient("GET", url, progress, headers={**auth, "Prefer": "wait=30"}, timeout=60).json()
    if job["status"] == "failed":
        raise RuntimeError(f"roster import job failed: {job['error']}")
    return job


def _ensure_verifiers(cfg: StackConfig, auth: dict, instansi: dict[str, str], progress=print) -> dict[str, dict]:
    store = cfg.var / "demo-verifiers.csv"
    known: dict[str, dict] = {}
    if store.exists():
        with store.open(newline="") as fh:
            known = {row["instansi_kode"]: row for row in csv.DictReader(fh)}
    for kode, nama in sorted(instansi.items()):
        if kode in known:
            continue
        account = {"username": f"verifikator.{kode.lower()}", "password": secrets.token_urlsafe(12),
                   "instansi_kode": kode, "instansi_nama": nama}
        resp = patient("POST", f"{cfg.edge_url}/api/v1/admin/verifiers", progress, headers=auth, timeout=30,
                       json={k: account[k] for k in ("username", "password", "instansi_kode")})
        if resp.status_code not in (201, 409):
            raise RuntimeError(f"creating verifier {account['username']} failed: {resp.status_code} {resp.text}")
        known[kode] = account
    store.touch(mode=0o600)
    with store.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["username", "password", "instansi_kode", "instansi_nama"])
        writer.writeheader()
        writer.writerows(known[k] for k in sorted(known))
    return known


def _ensure_campaign(cfg: StackConfig, auth: dict, progress=print) -> None:
    current = patient("GET", f"{cfg.edge_url}/api/v1/admin/campaign", progress, headers=auth, timeout=30)
    if current.status_code == 200 and current.json().get("is_open"):
        return
    now = datetime.now(UTC).replace(microsecond=0)
    body = {"opens_at": (now - timedelta(hours=1)).isoformat(), "closes_at": (now + timedelta(days=120)).isoformat()}
    patient("PUT", f"{cfg.edge_url}/api/v1/admin/campaign", progress, headers=auth, json=body,
            timeout=30).raise_for_status()


def secret_file(path: Path, make) -> str:
    """Read a local secret, creating it once (mode 0600) with `make()`."""
    if path.exists():
        return path.read_text().strip()
    value = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(value + "\n")
    return value
