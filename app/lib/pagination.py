"""Cursor pagination: the cursor is opaque to clients (base64 of the last id seen); the
queries behind it are in app/storage/repositories/paging.py."""

import base64
import binascii
import re
from typing import Generic, TypeVar

from bson import ObjectId

from app.lib.errors import validation_error
from app.lib.schema import ApiResponse

T = TypeVar("T")
_HEX24 = re.compile(r"^[0-9a-f]{24}$")


class Page(ApiResponse, Generic[T]):
    data: list[T]
    next_cursor: str | None = None


def encode_cursor(last_id: ObjectId) -> str:
    return base64.urlsafe_b64encode(str(last_id).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> ObjectId | None:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = base64.urlsafe_b64decode(padded.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raw = ""
    if not _HEX24.match(raw):
        raise validation_error(["query", "cursor"], "invalid cursor", input_=cursor)
    return ObjectId(raw)
