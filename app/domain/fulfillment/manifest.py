"""The order's manifest: the CSV a card printer needs, one row per card, as a private object.

Rows come from a cursor in batches and leave as multipart parts of at least 5 MiB (S3's floor),
so memory stays flat for any order size; a small order is a single `put`. Numbers are
decrypted here only to be written into the object: they are never logged.
"""

import csv
import io
import logging

from app.domain.cards.models import Card
from app.domain.fulfillment.models import FulfillmentOrder, ShippingConfig
from app.lib.card_numbers import CardVault
from app.lib.object_store import ObjectStore
from app.lib.types import iso_z

log = logging.getLogger(__name__)
CSV_TYPE = "text/csv; charset=utf-8"
PART_BYTES = 8 * 1024 * 1024
ROWS_PER_READ = 2_000
CARD_COLUMNS = [
    "orderId",
    "cardId",
    "cardNumber",
    "nameLine1",
    "nameLine2",
    "carrierMessage",
    "cardImage",
    "thermalColor",
    "designTemplate",
    "expiresAt",
]
SHIPPING_COLUMNS = [
    "recipientFirstName",
    "recipientMiddleName",
    "recipientLastName",
    "businessName",
    "careOfLine",
    "addressLine1",
    "addressLine2",
    "city",
    "state",
    "postalCode",
    "countryCode",
    "phone",
    "shippingMethod",
    "expedited",
]
HEADER = CARD_COLUMNS + SHIPPING_COLUMNS


def manifest_key(order: FulfillmentOrder) -> str:
    return f"manifests/{order.merchant_id}/{order.id}.csv"


def shipping_cells(config: ShippingConfig) -> list[str]:
    """The shipping block, the same on every row (one parcel)."""
    shipping = config.shipping
    name, address = shipping["recipientName"], shipping["address"]
    cells = [
        name.get("firstName"),
        name.get("middleName"),
        name.get("lastName"),
        shipping.get("businessName"),
        shipping.get("careOfLine"),
        address.get("line1"),
        address.get("line2"),
        address.get("city"),
        address.get("state"),
        address.get("postalCode"),
        address.get("countryCode"),
        shipping.get("phone"),
        shipping.get("method"),
        "true" if shipping.get("expedited") else "false",
    ]
    return ["" if cell is None else str(cell) for cell in cells]


def _encode(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


async def write_manifest(
    store: ObjectStore, vault: CardVault, order: FulfillmentOrder, config: ShippingConfig
) -> tuple[str, int]:
    """Writes the manifest (again, identically, on a retry); returns (key, rows)."""
    key = manifest_key(order)
    shipping = shipping_cells(config)
    cursor = (
        Card.get_pymongo_collection()
        .find(
            {"shipping_config_id": order.shipping_config_id, "fulfillment.order_id": str(order.id)},
            {
                "_id": 1,
                "number_enc": 1,
                "personalization": 1,
                "design_template": 1,
                "expires_at": 1,
            },
        )
        .sort("_id", 1)
        .batch_size(ROWS_PER_READ)
    )
    upload = _Upload(store, key)
    await upload.add(_encode([HEADER]))
    rows: list[list[str]] = []
    count = 0
    async for doc in cursor:
        card_id = str(doc["_id"])
        looks = doc.get("personalization") or {}
        rows.append(
            [
                str(order.id),
                card_id,
                vault.decrypt(doc["number_enc"], card_id),
                *(looks.get(k) or "" for k in ("nameLine1", "nameLine2", "carrierMessage")),
                *(looks.get(k) or "" for k in ("cardImage", "thermalColor")),
                doc.get("design_template") or "",
                iso_z(doc["expires_at"]),
                *shipping,
            ]
        )
        count += 1
        if len(rows) >= ROWS_PER_READ:
            await upload.add(_encode(rows))
            rows = []
    await upload.add(_encode(rows))
    await upload.finish()
    log.info("order %s: manifest written, %d rows", order.id, count)
    return key, count


class _Upload:
    """A single put when the body stays under one part; a multipart upload otherwise."""

    def __init__(self, store: ObjectStore, key: str) -> None:
        self.store, self.key = store, key
        self.chunks: list[bytes] = []
        self.size = 0
        self.upload_id: str | None = None
        self.etags: dict[int, str] = {}

    async def add(self, data: bytes) -> None:
        self.chunks.append(data)
        self.size += len(data)
        if self.size >= PART_BYTES:
            await self._flush_part()

    async def _flush_part(self) -> None:
        if self.upload_id is None:
            self.upload_id = await self.store.start_multipart(self.key, CSV_TYPE)
        number = len(self.etags) + 1
        body = b"".join(self.chunks)
        self.chunks, self.size = [], 0
        self.etags[number] = await self.store.upload_part(self.key, self.upload_id, number, body)

    async def finish(self) -> None:
        if self.upload_id is None:
            await self.store.put(self.key, b"".join(self.chunks), CSV_TYPE)
            return
        try:
            if self.chunks:
                await self._flush_part()
            await self.store.complete_multipart(self.key, self.upload_id, self.etags)
        except BaseException:
            await self.store.abort_multipart(self.key, self.upload_id)
            raise
