"""A cut's boxes against the embedded Mongo-protocol server: a box claimed by a run that died
before recording it keeps its number when the cut goes on, so no box ever holds more than
BOX_SIZE cards, the cut claims every waiting card once, and the cut's tally counts the dead
run's cards (its run's first box is counted from the cards)."""

import secrets
from collections import Counter
from datetime import UTC, datetime
from types import SimpleNamespace

from beanie import init_beanie
from pymongo import AsyncMongoClient

from app.domain.fulfillment.orders import _claim_boxes
from app.storage.models import Card, CutProgress, FulfillmentOrder, OrderBatch
from app.storage.repositories import CardRepository, FulfillmentOrderRepository
from app.storage.states import OrderStatus, ShippingPolicy

MERCHANT, PROGRAM, CONFIG = "m" * 24, "p" * 24, "c" * 24
BOX_SIZE, CARDS = 2, 5


def _card(issuance: str, seq: int) -> dict:
    return {
        "merchant_id": MERCHANT,
        "program_id": PROGRAM,
        "bulk_issuance_id": issuance,
        "seq": seq,
        "number_hash": secrets.token_hex(32),
        "shipping_config_id": CONFIG,
        "fulfillment": {"status": "CREATED", "order_id": None, "updated_ms": 0},
    }


async def test_a_box_claimed_before_a_crash_keeps_its_number(mongo):
    client: AsyncMongoClient = AsyncMongoClient(mongo.url)
    try:
        database = client[f"boxes_{secrets.token_hex(4)}"]
        await init_beanie(database=database, document_models=[Card, FulfillmentOrder])
        cards, orders = CardRepository(), FulfillmentOrderRepository()
        issuance = secrets.token_hex(12)
        await cards.collection.insert_many([_card(issuance, seq) for seq in range(CARDS)])
        plan = [OrderBatch(issuance=issuance, program=PROGRAM, count=CARDS, first=0, last=4)]
        progress = CutProgress(plan=plan, seq=0, updated_ms=1)
        order = FulfillmentOrder(
            merchant_id=MERCHANT,
            shipping_config_id=CONFIG,
            trigger=ShippingPolicy.MANUAL,
            cut_bound_ms=10,
            cutting=True,
            cut=progress,
            status=OrderStatus.PENDING,
            provider="file",
            created_ms=1,
            created_at=datetime.now(UTC),
        )
        await order.insert()
        order_id = str(order.id)
        # a run claimed box 1 (seqs 0-1) and died before the order recorded it
        died = await cards.claim_box(10, order_id, (PROGRAM, issuance, 0, 2), 1)
        assert died == BOX_SIZE

        db = SimpleNamespace(cards=cards, fulfillment_orders=orders)
        res = SimpleNamespace(db=db, settings=SimpleNamespace(box_size=BOX_SIZE))
        done = await _claim_boxes(res, order, progress, budget_seconds=60)  # type: ignore[arg-type]

        assert done.batch == 1 and done.boxes == 3  # boxes 1 (again), 2 and 3
        stored = [doc["fulfillment"] async for doc in cards.collection.find({})]
        assert all(f["order_id"] == order_id and f["status"] == "ORDERED" for f in stored)
        assert Counter(f["box"] for f in stored) == {1: 2, 2: 2, 3: 1}
        recorded = await orders.get(order_id)
        assert recorded is not None and recorded.cut == done
        # the dead run's box is the resumed run's first: counted from the cards, not the claim
        assert done.cards == CARDS
        assert [(b.count, b.first, b.last) for b in done.claimed] == [(CARDS, 0, 4)]
        assert await cards.claimed_in_range(order_id, (PROGRAM, issuance, 0, 9)) == CARDS
        # each box's seq range, for the printer's events of one box
        assert done.box_seqs == [[0, 0, 2], [0, 2, 4], [0, 4, 5]]
        order.cut = done
        assert order.box_range(3) == [PROGRAM, issuance, 4, 5]
        assert order.box_range(4) is None and order.box_range(0) is None
    finally:
        await client.close()
