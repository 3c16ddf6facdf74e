"""One RFC 4180 CSV per bulk issuance, written to a private S3 object.

Every card of a batch shares its value, currency and expiry, so a row is the card's id and
number, those shared cells, and (recipients mode) who it is for. The queued path streams rows
from the database in `seq` order into a multipart upload, so memory stays flat whatever the
batch size.
"""

import csv
import io
import logging
from collections.abc import AsyncIterator, Iterable

from botocore.exceptions import ClientError

from app.domain.issuance.generation import IssuedCard
from app.lib.card_numbers import CardVault
from app.lib.money import format_minor
from app.lib.object_store import ObjectStore
from app.lib.types import iso_z
from app.storage.models import BulkIssuance, Recipient
from app.storage.repositories import CardRepository, IssuanceRepository
from app.storage.states import IssuanceMode

BASE_COLUMNS = ["id", "cardNumber", "lastFourDigits", "initialValue", "currency", "expiresAt"]
RECIPIENT_COLUMNS = ["customerName", "customerEmail", "customerPhone"]
ROWS_PER_WRITE = 2_000
CSV_TYPE = "text/csv; charset=utf-8"
log = logging.getLogger(__name__)


def csv_key(issuance: BulkIssuance) -> str:
    """Each run of a batch resumed after failing writes its own object, so a late step of
    an earlier run can never overwrite the newer CSV."""
    run = f".r{issuance.resumes}" if issuance.resumes else ""
    return f"exports/{issuance.merchant_id}/{issuance.id}{run}.csv"


def encode_rows(rows: Iterable[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


class RowFormat:
    """The rows of one issuance's CSV: `shared` are the value, currency and expiry cells every
    row has; `recipients` (recipients mode) say who each card, by seq, is for."""

    def __init__(self, shared: list[str], recipients: list[Recipient] | None) -> None:
        self.shared = shared
        self.with_recipients = recipients is not None
        self.recipients = recipients or []

    @classmethod
    def for_issuance(cls, issuance: BulkIssuance) -> "RowFormat":
        shared = [
            format_minor(issuance.initial_value, issuance.currency),
            issuance.currency,
            iso_z(issuance.expires_at),
        ]
        with_recipients = issuance.mode == IssuanceMode.RECIPIENTS
        return cls(shared, (issuance.recipients or []) if with_recipients else None)

    def header(self) -> list[str]:
        return BASE_COLUMNS + (RECIPIENT_COLUMNS if self.with_recipients else [])

    def row(self, card_id: str, number: str, recipient: Recipient | None = None) -> list[str]:
        row = [card_id, number, number[-4:], *self.shared]
        if self.with_recipients:
            who = recipient or Recipient()
            row += [who.customer_name or "", who.customer_email or "", who.customer_phone or ""]
        return row

    def issued_row(self, card: IssuedCard) -> list[str]:
        if not self.with_recipients:  # the common case, once per card: no further call
            return [card.id, card.number, card.number[-4:], *self.shared]
        return self.row(card.id, card.number, self.recipients[card.seq])


async def export_cards(
    store: ObjectStore, issuance: BulkIssuance, cards: Iterable[IssuedCard]
) -> str:
    """Writes the CSV of cards already in memory (the inline path)."""
    key = csv_key(issuance)
    rows = RowFormat.for_issuance(issuance)
    body = encode_rows([rows.header(), *(rows.issued_row(c) for c in cards)])
    await store.put(key, body, CSV_TYPE)
    log.debug("wrote %s", key)
    return key


async def export_range(
    store: ObjectStore,
    vault: CardVault,
    cards: CardRepository,
    issuance: BulkIssuance,
    upload_id: str,
    part: int,
    ranges: list[tuple[int, int | None]],
    key: str | None = None,
) -> str:
    """Uploads as part `part` (of the upload under `key`, by default the issuance's CSV) the
    cards with seq in each [start, end) of `ranges` (no end: every card from start on), in
    order, the header in part 1. Returns the part's ETag."""
    rows = RowFormat.for_issuance(issuance)
    chunks = [encode_rows([rows.header()])] if part == 1 else []
    pending: list[list[str]] = []
    for start, end in ranges:
        async for row in read_rows(vault, cards, issuance, rows, start, end):
            pending.append(row)
            if len(pending) >= ROWS_PER_WRITE:
                chunks.append(encode_rows(pending))
                pending = []
    chunks.append(encode_rows(pending))
    body = b"".join(chunks)
    etag = await store.upload_part(key or csv_key(issuance), upload_id, part, body)
    log.debug("issuance %s: CSV part %d (%d bytes) uploaded", issuance.id, part, len(body))
    return etag


async def read_rows(
    vault: CardVault,
    cards: CardRepository,
    issuance: BulkIssuance,
    rows: RowFormat,
    start: int,
    end: int | None,
) -> AsyncIterator[list[str]]:
    """The CSV rows of the stored cards with seq in [start, end), in seq order."""
    found = cards.encrypted(issuance.program_id, str(issuance.id), start, end)
    async for card in found:
        yield rows.row(card.id, vault.decrypt(card.number_enc, card.id), card.recipient)


async def claim_upload(
    store: ObjectStore, issuances: IssuanceRepository, issuance: BulkIssuance
) -> str:
    """One multipart upload per issuance, even when two runs race to start it."""
    key = csv_key(issuance)
    upload_id = await store.start_multipart(key, CSV_TYPE)
    if await issuances.claim_csv_upload(str(issuance.id), upload_id, key, issuance.resumes):
        return upload_id
    await store.abort_multipart(key, upload_id)  # another run got there first: use theirs
    return await issuances.csv_upload_id(str(issuance.id))


async def complete_upload(
    store: ObjectStore, key: str, upload_id: str, etags: dict[int, str]
) -> None:
    """Completes the multipart CSV, unless an earlier run completed it and died before
    recording that (S3 then knows the upload no more, but has the object)."""
    try:
        await store.complete_multipart(key, upload_id, etags)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "NoSuchUpload" or not (
            await store.exists(key)
        ):
            raise
