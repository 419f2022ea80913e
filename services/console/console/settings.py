"""The console's settings: the one place it reads its environment (shared values come from pupns.config)."""
from __future__ import annotations

import os


def secure_cookies() -> bool:
    """Mark cookies Secure (set PUPNS_CONSOLE_SECURE_COOKIES=1 behind HTTPS)."""
    return os.environ.get("PUPNS_CONSOLE_SECURE_COOKIES", "0") == "1"
