from bson import ObjectId

from app.domain.cards.models import Card
from app.domain.programs.services import get_program
from app.lib.errors import NotFoundError
from app.lib.pagination import id_filter, next_cursor

# Never read the secret fields for display.
_PUBLIC = {"number_enc": 0, "number_hash": 0}


async def get_card(merchant_id: str, program_id: str, card_id: str) -> dict:
    doc = await Card.get_pymongo_collection().find_one(
        {"_id": ObjectId(card_id), "merchant_id": merchant_id, "program_id": program_id}, _PUBLIC
    )
    if doc is None:
        raise NotFoundError("Card not found.", code="card_not_found")
    return doc


async def list_cards(
    merchant_id: str,
    program_id: str,
    bulk_issuance_id: str | None,
    limit: int,
    cursor: str | None,
    fulfillment_status: str | None = None,
) -> tuple[list[dict], str | None]:
    await get_program(merchant_id, program_id)
    query: dict = {"merchant_id": merchant_id, "program_id": program_id}
    if bulk_issuance_id:
        query["bulk_issuance_id"] = bulk_issuance_id
    if fulfillment_status:
        query["fulfillment.status"] = fulfillment_status
    query.update(id_filter(cursor, newest_first=False))
    found = Card.get_pymongo_collection().find(query, _PUBLIC).sort("_id", 1).limit(limit + 1)
    docs = [doc async for doc in found]
    return docs[:limit], next_cursor(docs, limit)
