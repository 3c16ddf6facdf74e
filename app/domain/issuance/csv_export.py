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


async def export_cards(
    store: ObjectStore, issuance: BulkIssuance, cards: Iterable[tuple[dict, str]]
) -> str:
    """Writes the CSV of cards already in memory (the inline path)."""
    key = csv_key(issuance)
    rows = [header(issuance.mode)] + [card_row(doc, num, issuance.mode) for doc, num in cards]
    await store.put(key, encode_rows(rows), "text/csv; charset=utf-8")
    log.debug("wrote %s with %d rows", key, len(rows) - 1)
    return key


async def export_from_db(store: ObjectStore, vault: CardVault, issuance: BulkIssuance) -> str:
    """Streams every card of the issuance, in seq order, into the CSV object."""
    key = csv_key(issuance)
    upload = store.upload(key, "text/csv; charset=utf-8")
    try:
        await upload.write([encode_rows([header(issuance.mode)])])
        cursor = (
            Card.get_pymongo_collection()
            .find({"bulk_issuance_id": str(issuance.id)})
            .sort("seq", 1)
            .batch_size(ROWS_PER_WRITE)
        )
        rows: list[list[str]] = []
        async for doc in cursor:
            rows.append(
                card_row(doc, vault.decrypt(doc["number_enc"], str(doc["_id"])), issuance.mode)
            )
            if len(rows) >= ROWS_PER_WRITE:
                await upload.write([encode_rows(rows)])
                rows = []
        await upload.write([encode_rows(rows)])
        await upload.finish()
        log.debug("streamed %s", key)
    except BaseException:
        await upload.abort()
        raise
    return key
