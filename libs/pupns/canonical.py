"""Stable JSON for hashing and digests (framework-free: domain code may use it)."""
from __future__ import annotations

import json
from typing import Any


def canonical_json(value: Any) -> str:
    """Stable JSON used for hashing: sorted keys, no whitespace."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
