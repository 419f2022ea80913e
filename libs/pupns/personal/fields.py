"""Walkers that seal exactly the personal fields of SPEC §7 wherever they nest, and open every token back."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pupns.personal.codec import FieldCodec, is_sealed
from pupns.personal.errors import ERASED

# SPEC §7: the fields a leak must not yield (document contents are sealed as bytes, see FieldCodec.seal_bytes).
PERSONAL_FIELDS = frozenset({
    "nik", "npwp", "alamat", "no_hp", "email", "bpjs_kesehatan_nomor", "taspen_nomor", "password_hash",
})
ERASED_MARKER = "_erased"  # set True on a record whose erased fields read as null


def seal_fields(codec: FieldCodec, nip: str, data: Any, fields: Iterable[str] = PERSONAL_FIELDS) -> Any:
    """A copy of `data` (dicts and lists, any depth) with the value of every key in `fields` sealed."""
    names = frozenset(fields)

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: codec.seal(nip, v) if k in names and not isinstance(v, (dict, list)) else walk(v)
                    for k, v in node.items()}
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    return walk(data)


def open_fields(codec: FieldCodec, nip: str, data: Any) -> Any:
    """A copy of `data` with every sealed token opened; erased values become None and the record (the
    top-level dict, or each top-level dict of a list) gets `"_erased": True`."""

    def walk(node: Any, erased: list[bool]) -> Any:
        if isinstance(node, dict):
            return {k: walk(v, erased) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(item, erased) for item in node]
        if is_sealed(node):
            value = codec.open_(nip, node)
            if value is ERASED:
                erased.append(True)
                return None
            return value
        return node

    def record(node: Any) -> Any:
        erased: list[bool] = []
        opened = walk(node, erased)
        if erased and isinstance(opened, dict):
            opened[ERASED_MARKER] = True
        return opened

    if isinstance(data, list):
        return [record(item) for item in data]
    return record(data)


def has_personal_fields(data: Any, fields: Iterable[str] = PERSONAL_FIELDS) -> list[str]:
    """Paths ("a.b[0].nik") of personal fields still in clear: for tests and leak checks."""
    names, found = frozenset(fields), []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                where = f"{path}.{k}" if path else k
                if k in names and v not in (None, "") and not isinstance(v, (dict, list)) and not is_sealed(v):
                    found.append(where)
                walk(v, where)
        elif isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, f"{path}[{i}]")

    walk(data, "")
    return found


def opened(codec: FieldCodec, nip: str, data: Any) -> tuple[Any, bool]:
    """`data` with every token opened, and whether any value was erased (the marker is returned, not kept)."""
    found = open_fields(codec, nip, data)
    erased = isinstance(found, dict) and bool(found.pop(ERASED_MARKER, False))
    return found, erased


def clear_value(codec: FieldCodec, nip: str, value: Any) -> Any:
    """One value in clear for a rule run inside a command (None when it was erased)."""
    found = codec.open_(nip, value)
    return None if found is ERASED else found
