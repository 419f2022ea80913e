"""Dropping fields wherever they nest: the one walker behind secrets kept out of audit views and relayed messages,
and personal fields kept out of public events."""
from __future__ import annotations

from typing import Any

SECRET_FIELDS = frozenset({"password_hash", "password"})


def without(value: Any, fields: frozenset[str]) -> Any:
    """`value` without the keys in `fields`, wherever they nest in dicts and lists."""
    if isinstance(value, dict):
        return {k: without(v, fields) for k, v in value.items() if k not in fields}
    if isinstance(value, list):
        return [without(v, fields) for v in value]
    return value


def redact(data: Any) -> Any:
    """Drop secret fields (password hashes) wherever they nest."""
    return without(data, SECRET_FIELDS)
