"""A cut's plan comes from the configuration's batches, not from their cards: the batches whose
counts show a card still waiting (a finished batch: issued + its CREATED entry; one still
issuing: any of its seqs), each over all its seqs."""

import secrets

from beanie import init_beanie
from pymongo import AsyncMongoClient

from app.storage.models import BulkIssuance
from app.storage.repositories import IssuanceRepository
from app.storage.repositories.issuance_fulfillment import PhysicalBatch

MERCHANT, CONFIG = "m" * 24, "c" * 24


def _batch(status: str, requested: int, issued: int, created: int | None, **more) -> dict:
    counts = {} if created is None else {"CREATED": created, "ORDERED": -created}
    return {
        "merchant_id": MERCHANT,
        "program_id": "p" * 24,
        "shipping_config_id": CONFIG,
        "is_physical": True,
        "status": status,
        "requested_count": requested,
        "issued_count": issued,
        "fulfillment_counts": counts,
    } | more


async def test_the_plan_takes_the_batches_with_cards_waiting(mongo):
    client: AsyncMongoClient = AsyncMongoClient(mongo.url)
    try:
        database = client[f"cut_plan_{secrets.token_hex(4)}"]
        await init_beanie(database=database, document_models=[BulkIssuance])
        issuances = IssuanceRepository()
        batches = [
            _batch("completed", 10, 10, None),  # nothing ordered yet
            _batch("completed", 10, 10, -10),  # all ordered
            _batch("completed", 10, 10, -4),  # some ordered
            _batch("running", 10, 3, -3),  # still issuing: its count runs behind its cards
            _batch("failed", 10, 6, -6),  # ended short, all it issued ordered
            _batch("cancelled", 10, 6, -6, cards_settled=False),  # not yet counted
            _batch("completed", 10, 10, None, shipping_config_id="d" * 24),  # another config
            _batch("completed", 10, 10, None, merchant_id="n" * 24),  # another merchant's
        ]
        ids = (await issuances.collection.insert_many(batches)).inserted_ids

        plan = await issuances.physical_batches_waiting(MERCHANT, CONFIG)

        wanted = [ids[0], ids[2], ids[3], ids[5]]
        assert plan == [PhysicalBatch(str(i), "p" * 24, 10) for i in wanted]
    finally:
        await client.close()
