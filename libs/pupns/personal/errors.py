"""Errors of personal-data encryption: each one names what is wrong, none carries a personal value."""
from __future__ import annotations


class PersonalDataError(Exception):
    """Base of every error raised by pupns.personal."""


class TamperedTokenError(PersonalDataError):
    """A sealed value failed authentication: changed, truncated, or moved to another PNS's record."""


class MasterKeyError(PersonalDataError):
    """The master key is malformed, or is not the one that wrapped a stored data key."""


class DataKeyNotFound(PersonalDataError):
    """A token names a data key the key store never held (not an erasure: erased keys are remembered)."""


class _Erased:
    """The value of a field whose data key was erased (crypto-shredded): falsy, a single instance."""

    _instance: _Erased | None = None

    def __new__(cls) -> _Erased:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "ERASED"


ERASED = _Erased()
