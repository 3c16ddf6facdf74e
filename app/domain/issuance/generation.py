"""Generating and inserting the cards of one range of a bulk issuance.

Cards are raw documents written with `insert_many(ordered=False)`: the unique index on
`(bulk_issuance_id, seq)` makes a re-run insert only what is missing, and the unique index on
`number_hash` catches the rare number collision, which gets a fresh number and another try.
"""

import logging
from dataclasses import dataclass

from bson import ObjectId
from pymongo.errors import BulkWriteError

from app.domain.cards.models import Card
from app.domain.issuance.models import BulkIssuance
from app.lib.card_numbers import CardVault, generate_number
from app.lib.types import now_ms, utcnow

MAX_COLLISION_ROUNDS = 8
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IssuedCard:
    id: str
    seq: int
    number: str  # secret: goes only into the response and the CSV
    document: dict


def notification_for(recipient: dict | None) -> dict | None:
    if not recipient:
        return None
    channel = (
        "email"
        if recipient.get("customerEmail")
        else "sms"
        if recipient.get("customerPhone")
        else None
    )
    if channel is None:
        return None
    return {
        "channel": channel,
        "status": "pending",
        "attempts": 0,
        "lastError": None,
        "sentAt": None,
    }


def personalization_for(issuance: BulkIssuance, seq: int) -> dict | None:
    """The card's printed lines; with a numeric postfix, card `seq` gets start + seq: the same
    on a re-run of its chunk."""
    chosen = issuance.personalization
    if not issuance.is_physical or chosen is None:
        return None
    line1 = chosen.get("nameLine1")
    if issuance.name_line1_start_index is not None:
        postfix = str(issuance.name_line1_start_index + seq)
        line1 = f"{line1} {postfix}" if line1 else postfix
    return {
        "nameLine1": line1,
        "nameLine2": chosen.get("nameLine2"),
        "carrierMessage": chosen.get("carrierMessage"),
        "cardImage": chosen.get("cardImage"),
        "thermalColor": chosen.get("thermalColor"),
    }


def fulfillment_for(issuance: BulkIssuance) -> dict | None:
    if not issuance.is_physical:
        return None
    return {
        "status": "CREATED",
        "order_id": None,
        "carrier": None,
        "tracking_number": None,
        "updated_ms": now_ms(),
    }


class CardFactory:
    """Builds the card documents of one issuance. The fields every card shares are read from
    the issuance once (a Beanie document parses an attribute on each access)."""

    def __init__(self, issuance: BulkIssuance, vault: CardVault, length: int) -> None:
        self.issuance, self.vault, self.length = issuance, vault, length
        self.prefix = issuance.card_number_prefix
        self.recipients = issuance.recipients
        self.physical = issuance.is_physical
        self.shared = {
            "merchant_id": issuance.merchant_id,
            "program_id": issuance.program_id,
            "bulk_issuance_id": str(issuance.id),
            "initial_value": issuance.initial_value,
            "balance": issuance.initial_value,
            "currency": issuance.currency,
            "status": "active",
            "is_physical": self.physical,
            "design_template": issuance.design_template,
            "expires_at": issuance.expires_at,
            "shipping_config_id": issuance.shipping_config_id,
        }

    def build(self, seq: int) -> IssuedCard:
        card_id = ObjectId()
        card_key = str(card_id)
        number = generate_number(self.prefix, self.length)
        recipient = self.recipients[seq] if self.recipients else None
        document = {
            "_id": card_id,
            **self.shared,
            "seq": seq,
            "number_hash": self.vault.fingerprint(number),
            "number_enc": self.vault.encrypt(number, card_key),
            "last_four": number[-4:],
            "recipient": recipient,
            "notification": notification_for(recipient),
            "personalization": personalization_for(self.issuance, seq) if self.physical else None,
            "fulfillment": fulfillment_for(self.issuance) if self.physical else None,
            "created_at": utcnow(),
        }
        return IssuedCard(id=card_key, seq=seq, number=number, document=document)


async def insert_range(
    issuance: BulkIssuance, start: int, end: int, vault: CardVault, length: int
) -> list[IssuedCard]:
    """Inserts the cards with seq in [start, end) that do not exist yet; returns those inserted."""
    factory = CardFactory(issuance, vault, length)
    cards = [factory.build(seq) for seq in range(start, end)]
    log.debug("issuance %s: inserting cards %d-%d", issuance.id, start, end)
    return await insert_cards(issuance, cards, vault, length)


async def insert_cards(
    issuance: BulkIssuance, cards: list[IssuedCard], vault: CardVault, length: int
) -> list[IssuedCard]:
    """Inserts built cards; a card whose number collides gets a new one (so the returned cards
    can differ from those given); a seq that already exists is left as it is."""
    collection = Card.get_pymongo_collection()
    factory = CardFactory(issuance, vault, length)
    pending = cards
    inserted: list[IssuedCard] = []
    for _ in range(MAX_COLLISION_ROUNDS):
        if not pending:
            return inserted
        try:
            await collection.insert_many([card.document for card in pending], ordered=False)
            return inserted + pending
        except BulkWriteError as exc:
            failed = {error["index"] for error in exc.details["writeErrors"]}
        inserted += [card for i, card in enumerate(pending) if i not in failed]
        retry = [card for i, card in enumerate(pending) if i in failed]
        log.debug(
            "issuance %s: %d of %d writes refused, checking for earlier runs",
            issuance.id,
            len(retry),
            len(pending),
        )
        existing = await _existing_seqs(issuance, [card.seq for card in retry])
        # A seq that exists was written by an earlier run; any other failure is a number collision.
        pending = [factory.build(c.seq) for c in retry if c.seq not in existing]
    raise RuntimeError("card number collisions did not resolve; widen the number space")


async def _existing_seqs(issuance: BulkIssuance, seqs: list[int]) -> set[int]:
    cursor = Card.get_pymongo_collection().find(
        {
            "program_id": issuance.program_id,
            "bulk_issuance_id": str(issuance.id),
            "seq": {"$in": seqs},
        },
        {"seq": 1},
    )
    return {doc["seq"] async for doc in cursor}
