"""Cursor pages over `_id`, for the repositories (the cursor itself: app/lib/pagination.py)."""

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from beanie import Document

from app.lib.pagination import decode_cursor, encode_cursor

D = TypeVar("D", bound=Document)


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
