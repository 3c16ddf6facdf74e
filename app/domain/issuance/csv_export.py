"""One RFC 4180 CSV per bulk issuance, written to a private S3 object.

The async path streams rows from a cursor ordered by `seq` into a multipart upload, so memory
stays flat whatever the batch size.
"""

import csv
import io
import logging
from collections.abc import Iterable

from app.domain.cards.models import Card
from app.domain.issuance.models import BulkIssuance
from app.lib.card_numbers import CardVault
from app.lib.money import format_minor
from app.lib.object_store import ObjectStore
from app.lib.types import iso_z

BASE_COLUMNS = ["id", "cardNumber", "lastFourDigits", "initialValue", "currency", "expiresAt"]
RECIPIENT_COLUMNS = ["customerName", "customerEmail", "customerPhone"]
ROWS_PER_WRITE = 2_000
log = logging.getLogger(__name__)


def csv_key(issuance: BulkIssuance) -> str:
    return f"exports/{issuance.merchant_id}/{issuance.id}.csv"


def header(mode: str) -> list[str]:
    return BASE_COLUMNS + (RECIPIENT_COLUMNS if mode == "recipients" else [])


def encode_rows(rows: Iterable[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


def card_row(document: dict, number: str, mode: str) -> list[str]:
    row = [
        str(document["_id"]),
        number,
        document["last_four"],
        format_minor(document["initial_value"], document["currency"]),
        document["currency"],
        iso_z(document["expires_at"]),
    ]
    if mode == "recipients":
        recipient = document.get("recipient") or {}
        row += [recipient.get(column) or "" for column in RECIPIENT_COLUMNS]
    return row


async def export_cards(store: ObjectStore, issuance: BulkIssuance, cards: Iterable) -> str:
    """Writes the CSV of cards already in memory (the inline path)."""
    key = csv_key(issuance)
    rows = [header(issuance.mode)] + [card_row(c.document, c.number, issuance.mode) for c in cards]
    await store.put(key, encode_rows(rows), "text/csv; charset=utf-8")
    log.debug("wrote %s with %d rows", key, len(rows) - 1)
    return key


def part_count(issuance: BulkIssuance, rows_per_part: int) -> int:
    return max(1, -(-issuance.requested_count // rows_per_part))


async def export_part(
    store: ObjectStore, vault: CardVault, issuance: BulkIssuance, part: int, rows_per_part: int
) -> str:
    """Uploads part `part` (1-based) of the multipart CSV: the cards with seq in its range,
    in order, the header in part 1. Returns the part's ETag."""
    start, end = (part - 1) * rows_per_part, part * rows_per_part
    cursor = (
        Card.get_pymongo_collection()
        .find(
            {
                "program_id": issuance.program_id,
                "bulk_issuance_id": str(issuance.id),
                "seq": {"$gte": start, "$lt": end},
            },
            {
                "_id": 1,
                "number_enc": 1,
                "last_four": 1,
                "initial_value": 1,
                "currency": 1,
                "expires_at": 1,
                "recipient": 1,
            },
        )
        .sort("seq", 1)
        .batch_size(ROWS_PER_WRITE)
    )
    chunks = [encode_rows([header(issuance.mode)])] if part == 1 else []
    rows: list[list[str]] = []
    async for doc in cursor:
        number = vault.decrypt(doc["number_enc"], str(doc["_id"]))
        rows.append(card_row(doc, number, issuance.mode))
        if len(rows) >= ROWS_PER_WRITE:
            chunks.append(encode_rows(rows))
            rows = []
    chunks.append(encode_rows(rows))
    body = b"".join(chunks)
    etag = await store.upload_part(csv_key(issuance), issuance.csv_upload_id, part, body)
    log.debug("issuance %s: CSV part %d (%d bytes) uploaded", issuance.id, part, len(body))
    return etag
