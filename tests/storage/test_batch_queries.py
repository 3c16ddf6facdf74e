"""A batch's card queries, as sent to the embedded Mongo-protocol server: each names the batch
with `$eq` (nx-27017 turns a bare equality into a test no index serves, a scan of every card),
and answers as before: which seqs exist, a seq range, a status change, a box claim."""

import secrets
from datetime import UTC, datetime
from typing import Any

from beanie import init_beanie
from pymongo import AsyncMongoClient, monitoring

from app.storage.models import Card
from app.storage.repositories import CardRepository
from app.storage.states import CardFulfillmentStatus, CardStatus
from tests.storage.test_order_boxes import CONFIG, PROGRAM
from tests.storage.test_order_boxes import _card as waiting_card

QUERIES = {"find": "filter", "aggregate": "pipeline", "update": "updates", "delete": "deletes"}


class Filters(monitoring.CommandListener):
    """The filter of every card query the client sends."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        name = event.command_name
        if name not in QUERIES or event.command.get(name) != "cards":
            return
        body = event.command[QUERIES[name]]
        if name == "find":
            self.seen.append(body)
        elif name == "aggregate":
            self.seen += [stage["$match"] for stage in body if "$match" in stage]
        else:
            self.seen += [op["q"] for op in body]

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None: ...

    def failed(self, event: monitoring.CommandFailedEvent) -> None: ...


def _card(issuance: str, seq: int) -> dict:
    sealed = {"number_enc": b"sealed", "expires_at": datetime(2030, 1, 1, tzinfo=UTC)}
    return waiting_card(issuance, seq) | sealed | {"status": CardStatus.SCHEDULED}


async def test_a_batchs_queries_name_it_with_eq_and_answer_as_before(mongo):
    filters = Filters()
    client: AsyncMongoClient = AsyncMongoClient(mongo.url, event_listeners=[filters])
    try:
        database = client[f"batch_queries_{secrets.token_hex(4)}"]
        await init_beanie(database=database, document_models=[Card])
        cards, issuance, other = CardRepository(), secrets.token_hex(12), secrets.token_hex(12)
        stored = [_card(issuance, seq) for seq in (0, 1, 2, 5, 6)] + [_card(other, 3)]
        await cards.collection.insert_many(stored)

        assert await cards.existing_seqs(PROGRAM, issuance, [6, 3, 4, 0]) == {0, 6}
        assert await cards.existing_seqs(PROGRAM, issuance, []) == set()
        assert await cards.seqs_between(PROGRAM, issuance, 1, 6) == [1, 2, 5]
        assert [c.seq async for c in cards.encrypted(PROGRAM, issuance, 2)] == [2, 5, 6]
        assert await cards.set_status(PROGRAM, issuance, (5, 7), CardStatus.INACTIVE) == 2
        assert await cards.activate_scheduled(PROGRAM, issuance) == 3
        order = secrets.token_hex(12)
        box = (PROGRAM, issuance, 0, 3)
        assert await cards.claim_box(10, order, box, 1) == 3
        assert await cards.claimed_in_range(order, box) == 3
        boxed = await cards.manifest_cards(PROGRAM, issuance, order, 0, 6)
        assert [card.box for card in boxed] == [1, 1, 1]
        # a printer event of box 1 reads its seq range, not the configuration's cards
        box_range: list[str | int] = [PROGRAM, issuance, 0, 2]  # two of the box's three
        assert await cards.count_in_box(CONFIG, order, 1, box_range) == 2
        shipped = CardFulfillmentStatus.SHIPPED
        ordered = [CardFulfillmentStatus.ORDERED]
        moved = await cards.move_in_order(CONFIG, order, ordered, shipped, 2, box=1,
                                          box_range=box_range)  # fmt: skip
        assert moved == 2
        by_issuance = await cards.moved_by_issuance(CONFIG, order, shipped, 2, None, box_range)
        assert by_issuance == {issuance: 2}
        ids = await cards.moved_in_change(CONFIG, order, PROGRAM, shipped, 2, box_range)
        assert ids == sorted(str(c["_id"]) for c in stored if c["seq"] in (0, 1))
        assert await cards.moved_in_change(CONFIG, order, "q" * 24, shipped, 2, box_range) == []

        batch_queries = [f for f in filters.seen if "bulk_issuance_id" in f]
        assert len(batch_queries) >= 12
        for query in batch_queries:
            assert query["program_id"] == {"$eq": PROGRAM}, query
            assert query["bulk_issuance_id"] == {"$eq": issuance}, query
        other_cards = [doc async for doc in cards.collection.find({"seq": 3})]
        assert other_cards[0]["status"] == CardStatus.SCHEDULED  # the other batch's: untouched
    finally:
        await client.close()
