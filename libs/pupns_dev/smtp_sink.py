"""A local SMTP server that keeps every received message as an .eml file in a folder."""
from __future__ import annotations

import argparse
import time
import uuid
from pathlib import Path

from aiosmtpd.controller import Controller


class MaildirHandler:
    """Writes each message atomically (tmp + rename) so readers never see half a file."""

    def __init__(self, maildir: Path):
        self.maildir = maildir

    async def handle_DATA(self, server, session, envelope) -> str:
        name = f"{time.time():.6f}-{uuid.uuid4().hex[:8]}.eml"
        tmp = self.maildir / f".{name}.tmp"
        # Which client connection brought it (its address): tests see whether a sender reuses its connections.
        peer = ":".join(str(part) for part in (session.peer or ())[:2])
        header = f"X-Envelope-To: {', '.join(envelope.rcpt_tos)}\r\nX-Sink-Peer: {peer}\r\n".encode()
        tmp.write_bytes(header + envelope.original_content)
        tmp.rename(self.maildir / name)
        return "250 Message accepted for delivery"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--maildir", type=Path, default=Path("var/mail"))
    args = parser.parse_args()
    args.maildir.mkdir(parents=True, exist_ok=True)
    controller = Controller(MaildirHandler(args.maildir), hostname="127.0.0.1", port=args.port)
    controller.start()
    print(f"SMTP sink on 127.0.0.1:{args.port}, messages in {args.maildir}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
