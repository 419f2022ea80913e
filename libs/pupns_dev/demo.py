"""Demo data for `make run` and the e2e tests: admin, a synthetic roster, verifiers, an open campaign.

Everything goes through the public edge API (or the CLI where the API has no door), so the demo
exercises the same paths a real administrator uses. Re-running it changes nothing.
"""
from __future__ import annotations

import csv
import secrets
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

from pupns_dev.stack import StackConfig
from pupns_dev.waiting import wait_until


def cli(cfg: StackConfig, *args: str) -> str:
    """Run the `pupns` CLI with the stack's environment; return its stdout."""
    done = subprocess.run([sys.executable, "-m", "pupns_cli", *args], env=cfg.env(), capture_output=True,
                          text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"pupns {' '.join(args)} failed: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


def login(cfg: StackConfig, username: str, password: str) -> str:
    """An access token for a user (waits while the platform converges)."""
    def attempt() -> str | None:
        resp = requests.post(f"{cfg.edge_url}/api/v1/auth/token",
                             json={"username": username, "password": password}, timeout=30)
        return resp.json()["access_token"] if resp.status_code == 200 else None
    return wait_until(attempt, timeout=60, interval=0.3, message=f"login as {username}")


def instansi_of(roster_csv: Path) -> dict[str, str]:
    """instansi_kode -> instansi_nama found in a roster file."""
    with roster_csv.open(newline="", encoding="utf-8") as fh:
        return {row["instansi_kode"]: row["instansi_nama"] for row in csv.DictReader(fh)}


def seed_demo(cfg: StackConfig, roster_size: int = 1000, seed: int = 2015, progress=print) -> dict:
    """Create the admin, load the demo roster, one verifier per instansi, open the campaign."""
    admin = login(cfg, "admin", cfg.admin_password)
    auth = {"Authorization": f"Bearer {admin}"}
    roster = cfg.var / f"demo-roster-{roster_size}-{seed}.csv"
    if not roster.exists():
        progress(f"generating a synthetic roster of {roster_size} PNS...")
        cli(cfg, "roster", "generate", "--count", str(roster_size), "--seed", str(seed), "--out", str(roster))
    progress("loading the roster through POST /api/v1/admin/roster...")
    resp = requests.post(f"{cfg.edge_url}/api/v1/admin/roster", data=roster.read_bytes(),
                         headers={**auth, "Content-Type": "text/csv"}, timeout=600)
    if resp.status_code != 200:
        raise RuntimeError(f"roster import failed: {resp.status_code} {resp.text}")
    summary = resp.json()
    progress(f"  roster: {summary['imported']} imported, {summary['unchanged']} unchanged, "
             f"{len(summary['rejected'])} rejected")
    verifiers = _ensure_verifiers(cfg, auth, instansi_of(roster))
    _ensure_campaign(cfg, auth)
    return {"roster": roster, "verifiers": verifiers, "admin_token": admin, "roster_summary": summary}


def _ensure_verifiers(cfg: StackConfig, auth: dict, instansi: dict[str, str]) -> dict[str, dict]:
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
        resp = requests.post(f"{cfg.edge_url}/api/v1/admin/verifiers", headers=auth, timeout=30,
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


def _ensure_campaign(cfg: StackConfig, auth: dict) -> None:
    current = requests.get(f"{cfg.edge_url}/api/v1/admin/campaign", headers=auth, timeout=30)
    if current.status_code == 200 and current.json().get("is_open"):
        return
    now = datetime.now(UTC).replace(microsecond=0)
    body = {"opens_at": (now - timedelta(hours=1)).isoformat(), "closes_at": (now + timedelta(days=120)).isoformat()}
    requests.put(f"{cfg.edge_url}/api/v1/admin/campaign", headers=auth, json=body, timeout=30).raise_for_status()


def secret_file(path: Path, make) -> str:
    """Read a local secret, creating it once (mode 0600) with `make()`."""
    if path.exists():
        return path.read_text().strip()
    value = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(value + "\n")
    return value
