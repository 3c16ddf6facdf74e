"""Query pieces written so that nx-27017 serves them through an index, as MongoDB does.

nx-27017 writes a bare equality `{"program_id": p}` into SQL as "equal, or an array that holds
it": an `OR` over a `json_each` that no index can serve, so a query of one batch's cards read
every card in the collection (5 s a query at two million cards, minutes for a `$in`, with the
server serving nothing else meanwhile). `{"program_id": {"$eq": p}}` it writes as a plain
comparison, which the cards' `(program_id, bulk_issuance_id, seq)` index serves. On MongoDB
the two mean the same. A field with an index of its own alone (`shipping_config_id`) is
served either way; `_id` is a column of its own.
"""

from typing import Any


def exact(**fields: str | int | bool) -> dict[str, Any]:
    """Equality conditions on `fields` that an index can serve (never None: `{field: None}`
    is the null test nx-27017 gets right)."""
    return {name: {"$eq": value} for name, value in fields.items()}


def of_batch(program_id: str, issuance_id: str, **more: str | int | bool) -> dict[str, Any]:
    """One batch's cards, through the unique `(program_id, bulk_issuance_id, seq)` index."""
    return exact(program_id=program_id, bulk_issuance_id=issuance_id, **more)
