"""marshmallow fields with the spec's strict types and Indonesian messages."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from typing import Any

from marshmallow import Schema, ValidationError, fields

from pupns.nip import validate_nik

REQUIRED = "wajib diisi"


class StrictSchema(Schema):
    """Unknown fields are rejected (marshmallow's default), in Indonesian."""

    error_messages = {"unknown": "kolom tidak dikenal", "type": "harus berupa objek"}


class Text(fields.String):
    """A string; when required it must not be blank."""

    default_error_messages = {"invalid": "harus berupa teks", "required": REQUIRED, "null": REQUIRED}

    def __init__(self, required: bool = False, max_length: int = 255, **kwargs: Any) -> None:
        self.max_length = max_length
        if required:
            super().__init__(required=True, **kwargs)
        else:
            super().__init__(load_default=None, allow_none=True, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if self.required and not text:
            raise ValidationError(REQUIRED)
        if len(text) > self.max_length:
            raise ValidationError(f"paling banyak {self.max_length} karakter")
        return text


class Choice(Text):
    """One of a fixed set of codes."""

    def __init__(self, choices: Any, required: bool = False, **kwargs: Any) -> None:
        self.choices = tuple(choices)
        super().__init__(required=required, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if text and text not in self.choices:
            raise ValidationError("harus salah satu dari: " + ", ".join(self.choices))
        return text or None


class DateText(Text):
    """A real `YYYY-MM-DD` date, not after `today()` unless `allow_future`."""

    PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")

    def __init__(self, required: bool = False, allow_future: bool = False, **kwargs: Any) -> None:
        self.allow_future = allow_future
        super().__init__(required=required, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if not text:
            return None
        if not self.PATTERN.match(text):
            raise ValidationError("format tanggal harus YYYY-MM-DD")
        try:
            parsed = date.fromisoformat(text)
        except ValueError:
            raise ValidationError("tanggal tidak valid") from None
        if not self.allow_future and parsed > today():
            raise ValidationError("tanggal tidak boleh di masa depan")
        return text


class Pattern(Text):
    """Text matching a pattern after removing the characters in `strip`."""

    def __init__(self, pattern: str, message: str, strip: str = "", required: bool = False, **kw: Any) -> None:
        self.pattern, self.message, self.strip_chars = re.compile(pattern), message, strip
        super().__init__(required=required, **kw)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if not text:
            return None
        cleaned = "".join(ch for ch in text if ch not in self.strip_chars)
        if not self.pattern.match(cleaned):
            raise ValidationError(self.message)
        return cleaned


class Nik(Text):
    """A 16-digit NIK with a readable birth date (rules live in pupns.nip)."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if text and (reason := validate_nik(text)):
            raise ValidationError(reason)
        return text or None


class Email(Text):
    """A syntactically valid e-mail address."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if text:
            try:
                fields.Email().deserialize(text)
            except ValidationError:
                raise ValidationError("alamat e-mail tidak valid") from None
        return text or None


class StrictInt(fields.Field):
    """A JSON integer (not a string, float or boolean)."""

    default_error_messages = {"invalid": "harus berupa bilangan bulat", "required": REQUIRED, "null": REQUIRED}

    def __init__(self, required: bool = False, **kwargs: Any) -> None:
        extra = {"required": True} if required else {"load_default": None, "allow_none": True}
        super().__init__(**extra, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.make_error("invalid")
        return value


class StrictBool(fields.Field):
    """A JSON boolean."""

    default_error_messages = {"invalid": "harus berupa true atau false", "required": REQUIRED, "null": REQUIRED}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


def today() -> date:
    """The latest calendar date anywhere in Indonesia (WIT, UTC+9), so no local date counts as future."""
    return datetime.now(timezone(timedelta(hours=9))).date()
