"""The write-path load generator: registrations of never-seen PNS, logins of many distinct PNS, section saves.

Like bench.loadgen (whose connections and timing it reuses) it runs in its own process, open or closed loop,
ignores Retry-After and prints one JSON line. What it sends depends on KIND:

- `register`: POST /api/v1/registrations, each request a roster row not used before, without cookies or
  tickets (a flood of newcomers: abandoned tabs and bots never come back);
- `login`: POST /api/v1/auth/token, cycling through many confirmed PNS (the password-hashing path);
- `save`: PUT /api/v1/me/form/sections/data_utama with If-Match, cycling through many logged-in PNS; each
  PNS has at most one save in flight, and its form version is learnt from every answer;
- `read`: GET /api/v1/me/form, cycling through the same logged-in PNS (the read path, measured the same way).

Usage: python -m bench.writeload PORT KIND RATE SECONDS CONNS INPUT.json
"""
from __future__ import annotations

import json
import sys
from collections import deque
from pathlib import Path

import uvloop

from bench.loadgen import Conn, Generator, drive

PASSWORD = "bench-rahasia-2015"


def http(method: str, path: str, port: int, body: dict, headers: dict[str, str] | None = None) -> bytes:
    data = json.dumps(body, separators=(",", ":")).encode()
    head = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    return (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: application/json\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n{head}\r\n").encode() + data


class WriteGenerator(Generator):
    """A Generator whose every request is built for the write path being measured."""

    def __init__(self, port: int, kind: str, conns: int, closed_loop: bool, data: dict) -> None:
        super().__init__(port, "-", conns, closed_loop)
        self.kind, self.data, self.sent = kind, data, 0
        self.free = deque(range(len(data.get("tokens", ()))))  # PNS with no save in flight
        self.versions = list(data.get("versions", ()))
        self.holding: dict[Conn, int] = {}
        self.codes: dict[str, int] = {}  # error codes of 4xx answers

    def request_for(self, conn: Conn) -> bytes:
        self.sent += 1
        if self.kind == "register":
            nip, nik = self.data["rows"][(self.sent - 1) % len(self.data["rows"])]
            return http("POST", "/api/v1/registrations", self.port,
                        {"nip": nip, "nik": nik, "email": f"{nip}@contoh.go.id", "password": PASSWORD})
        if self.kind == "login":
            nip = self.data["nips"][self.sent % len(self.data["nips"])]
            return http("POST", "/api/v1/auth/token", self.port, {"username": nip, "password": PASSWORD})
        if self.kind == "read":
            token = self.data["tokens"][self.sent % len(self.data["tokens"])]
            return (f"GET /api/v1/me/form HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nAccept: application/json\r\n"
                    f"Authorization: Bearer {token}\r\n\r\n").encode()
        index = self.free.popleft()  # fire() only asks when a PNS is free (see below)
        self.holding[conn] = index
        body = {**self.data["bodies"][index], "alamat": f"Jl. Beban Uji No. {self.sent}"}
        return http("PUT", "/api/v1/me/form/sections/data_utama", self.port, body,
                    {"Authorization": f"Bearer {self.data['tokens'][index]}", "If-Match": str(self.versions[index])})

    def answered(self, conn: Conn, status: int, body: bytes) -> None:
        if 400 <= status < 500:
            try:
                code = json.loads(body)["error"]["code"]
            except (ValueError, KeyError, TypeError):
                code = str(status)
            self.codes[code] = self.codes.get(code, 0) + 1
        index = self.holding.pop(conn, None)
        if index is None:
            return
        if status != 200:  # only a saved section carries the form's new version: a turn-away is not parsed
            self.free.append(index)
            return
        try:
            answer = json.loads(body)
            self.versions[index] = int(answer.get("version") or self.versions[index])
        except (ValueError, KeyError, TypeError, AttributeError):
            pass
        self.free.append(index)

    def fire(self) -> None:
        """A save needs a PNS with no save in flight (a person saves one section at a time): when every PNS is
        waiting for an answer, this arrival is counted as skipped by the client, not sent as a sure conflict."""
        if self.kind == "save" and not self.free:
            self.skipped += 1
            return
        super().fire()

    def failed(self, conn: Conn, kind: str) -> None:
        index = self.holding.pop(conn, None)
        if index is not None:
            self.free.append(index)
        super().failed(conn, kind)


async def run(port: int, kind: str, rate: float | None, seconds: float, conns: int, data: dict) -> dict:
    gen = WriteGenerator(port, kind, conns, rate is None, data)
    result = await drive(port, "-", rate, seconds, conns, gen)
    return {**result, "requests_built": gen.sent, "error_codes": gen.codes, "versions": gen.versions}


if __name__ == "__main__":
    port, kind, rate, secs, conns, path = sys.argv[1:7]
    data = json.loads(Path(path).read_text())
    print(json.dumps(uvloop.run(run(int(port), kind, float(rate) or None, float(secs), int(conns), data))))
