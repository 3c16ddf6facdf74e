"""Generating and inserting the cards of one range of a bulk issuance.

Cards are plain documents written with `insert_many(ordered=False)`: the unique index on
`(bulk_issuance_id, seq)` makes a re-run insert only what is missing, and the unique index on
`number_hash` catches the rare number collision, which gets a fresh number and another try.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.lib.card_numbers import CardVault, number_source
from app.lib.object_ids import new_object_ids
from app.lib.types import now_ms, utcnow
from app.storage.models import BulkIssuance, Recipient
from app.storage.models.looks import CardLooks
from app.storage.repositories import CardRepository
from app.storage.states import NotificationChannel

MAX_COLLISION_ROUNDS = 8
# Cards per insert_many. Writes are served one at a time (nx-27017) and building cards holds
# the worker's event loop: with 5,000-card writes another merchant's 51-card batch took ~14 s
# during a big batch, with 250 about 1 s (tests/workers/test_fairness.py).
INSERT_BATCH = 250
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IssuedCard:
    id: str
    seq: int
    number: str  # secret: goes only into the response and the CSV
    document: dict[str, Any]


def channels_for(
    recipient: Recipient | None, chosen: list[NotificationChannel] | None
) -> list[NotificationChannel]:
    """Where the recipient is notified: every channel it has an address for, narrowed to the
    program's `chosen` ones when it has both (None: all); email first."""
    if recipient is None:
        return []
    have = [NotificationChannel.EMAIL] if recipient.customer_email else []
    have += [NotificationChannel.SMS] if recipient.customer_phone else []
    if len(have) > 1 and chosen:
        return [channel for channel in have if channel in chosen]
    return have


class CardFactory:
    """Builds the card documents of one issuance. The fields every card shares are read from
    the issuance once (a Beanie document parses an attribute on each access)."""

    def __init__(self, issuance: BulkIssuance, vault: CardVault, length: int) -> None:
        self.vault, self.length = vault, length
        self.prefix = issuance.card_number_prefix
        self.physical = issuance.is_physical
        self.shared = CardRepository.shared_fields(issuance)
        self.program_id, self.issuance_id = issuance.program_id, str(issuance.id)
        self.recipients: list[dict[str, Any] | None] = []
        self.parcels: dict[int, dict[str, Any]] = {}  # seq → its own shipping (only those)
        self.notifications: list[dict[str, Any] | None] = []
        made_ms = now_ms()
        chosen = issuance.notification_channels
        for seq, recipient in enumerate(issuance.recipients or []):
            channels = channels_for(recipient, chosen)
            self.recipients.append(recipient.model_dump(exclude={"shipping"}))
            if recipient.shipping is not None and self.physical:
                self.parcels[seq] = recipient.shipping.model_dump()
            note = CardRepository.new_notification(channels, made_ms) if channels else None
            self.notifications.append(note)
        looks = issuance.personalization if self.physical else None
        self.looks = CardLooks(looks, issuance.name_line1_start_index)
        self.numbers = number_source(self.prefix, length)
        self.template = CardRepository.template(self.shared)

    def build_many(self, seqs: Sequence[int]) -> list[IssuedCard]:
        """The cards `seqs`: numbers and ids drawn in one go, the time read once (a batch of
        cards is built within milliseconds), every shared field precomputed."""
        numbers = self.numbers.take(len(seqs))
        ids = new_object_ids(len(seqs))
        keys = [str(card_id) for card_id in ids]
        hashes = self.vault.fingerprints(numbers)
        blobs = self.vault.encrypt_many(numbers, keys)
        created_at = utcnow()
        fulfillment = CardRepository.new_fulfillment(now_ms()) if self.physical else None
        recipients, notifications = self.recipients, self.notifications
        template = self.template | {"created_at": created_at}
        cards: list[IssuedCard] = []
        for i, seq in enumerate(seqs):
            number, card_key = numbers[i], keys[i]
            doc = template.copy()
            doc["_id"], doc["seq"], doc["number_hash"] = ids[i], seq, hashes[i]
            doc["number_enc"], doc["last_four"] = blobs[i], number[-4:]
            if recipients:
                doc["recipient"], doc["notification"] = recipients[seq], notifications[seq]
            if self.physical:
                doc["personalization"] = self.looks.of(seq)
                doc["fulfillment"] = dict(fulfillment) if fulfillment is not None else None
            parcel = self.parcels.get(seq)
            if parcel is not None:  # individual fulfillment: on the cards that have it only
                doc["shipping"] = parcel
            cards.append(IssuedCard(card_key, seq, number, doc))
        return cards


async def insert_range(
    cards: CardRepository, factory: CardFactory, start: int, end: int
) -> list[IssuedCard]:
    """Inserts the cards with seq in [start, end) that do not exist yet; returns those inserted.
    Built and written INSERT_BATCH at a time: between two, the worker's other jobs (another
    merchant's batch) get the event loop and the database."""
    inserted: list[IssuedCard] = []
    for low in range(start, end, INSERT_BATCH):
        built = factory.build_many(range(low, min(low + INSERT_BATCH, end)))
        inserted += await insert_cards(cards, factory, built)
    return inserted


async def insert_cards(
    cards: CardRepository, factory: CardFactory, built: list[IssuedCard]
) -> list[IssuedCard]:
    """Inserts built cards; a card whose number collides gets a new one (so the returned cards
    can differ from those given); a seq that already exists is left as it is."""
    pending = built
    inserted: list[IssuedCard] = []
    for _ in range(MAX_COLLISION_ROUNDS):
        if not pending:
            return inserted
        refused = await cards.insert_new([card.document for card in pending])
        if not refused:
            return inserted + pending
        inserted += [card for i, card in enumerate(pending) if i not in refused]
        retry = [card for i, card in enumerate(pending) if i in refused]
        log.debug("%d of %d writes refused, checking for earlier runs", len(retry), len(pending))
        existing = await cards.existing_seqs(
            factory.program_id, factory.issuance_id, [card.seq for card in retry]
        )
        # A seq that exists was written by an earlier run; any other failure is a number collision.
        pending = factory.build_many([c.seq for c in retry if c.seq not in existing])
    raise RuntimeError("card number collisions did not resolve; widen the number space")
