"""Cursor pagination on `_id`: the cursor is opaque to clients (base64 of the last id seen)."""

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from typing import Any, Generic, TypeVar

from beanie import Document
from bson import ObjectId

from app.lib.errors import validation_error
from app.lib.schema import ApiResponse

T = TypeVar("T")
D = TypeVar("D", bound=Document)
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


def id_filter(cursor: str | None, newest_first: bool) -> dict[str, Any]:
    after = decode_cursor(cursor)
    if after is None:
        return {}
    return {"_id": {"$lt" if newest_first else "$gt": after}}


async def newest_first_page(
    model: type[D], query: dict[str, Any], limit: int, cursor: str | None
) -> tuple[list[D], str | None]:
    """One page of a Beanie `model`'s documents matching `query`, newest first: (page, cursor)."""
    found = model.find({**query, **id_filter(cursor, newest_first=True)})
    docs = await found.sort("-_id").limit(limit + 1).to_list()
    return docs[:limit], next_cursor([{"_id": doc.id} for doc in docs], limit)


def next_cursor(docs: Sequence[Mapping[str, Any]], limit: int) -> str | None:
    """A cursor only when the page is full; callers fetch limit+1 to know if more exist."""
    if len(docs) <= limit:
        return None
    return encode_cursor(docs[limit - 1]["_id"])
