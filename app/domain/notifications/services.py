"""One notification per recipient card, sent by a worker after the card exists.

State lives on the card: `notification.status` pending → sending → sent (or failed), with
attempts, lastError, sentAt. A failure is retried by arq with backoff and never touches the
card itself.

The intent is recorded before the send (`sending`, attempts + 1), so a retry knows when an
earlier attempt may already have gone out. What stays at-least-once is the gap between a
successful send and recording `sent`: a worker dying there sends again on retry. The SMS
webhook gets the same Idempotency-Key each time (a gateway that honours it sends once);
SMTP has no such key, so the email keeps one Message-ID for receivers to drop the copy.
"""

import logging
from datetime import timedelta
from email.message import EmailMessage

from bson import ObjectId

from app.domain.cards.models import Card
from app.domain.issuance.models import BulkIssuance
from app.domain.notifications.channels import send_email, sms_provider
from app.lib import jobs
from app.lib.money import format_minor
from app.lib.resources import Resources
from app.lib.types import utcnow

log = logging.getLogger(__name__)


def _text(card: dict, number: str) -> tuple[str, str]:
    recipient = card["recipient"] or {}
    amount = f"{format_minor(card['initial_value'], card['currency'])} {card['currency']}"
    sender = recipient.get("senderName") or "Someone"
    lines = [
        f"Hello {recipient.get('customerName') or 'there'},",
        "",
        f"{sender} sent you a gift card worth {amount}.",
        f"Card number: {number}",
    ]
    if recipient.get("customMessage"):
        lines += ["", f"Message from {sender}: {recipient['customMessage']}"]
    return f"{sender} sent you a {amount} gift card", "\n".join(lines) + "\n"


async def send_for_card(res: Resources, card_id: str) -> bool:
    """Sends the card's notification unless already sent. Returns False when nothing was due."""
    collection = Card.get_pymongo_collection()
    card = await collection.find_one({"_id": ObjectId(card_id)})
    if not card or not card.get("notification") or card["notification"]["status"] == "sent":
        return False
    maybe_sent = card["notification"]["status"] == "sending"  # an attempt died mid-way
    await collection.update_one(
        {"_id": card["_id"]},
        {"$set": {"notification.status": "sending"}, "$inc": {"notification.attempts": 1}},
    )
    log.debug(
        "sending the %s notification of card %s (try %d%s)",
        card["notification"]["channel"],
        card_id,
        card["notification"]["attempts"] + 1,
        ", an earlier try may have sent it" if maybe_sent else "",
    )
    number = res.vault.decrypt(card["number_enc"], card_id)
    subject, body = _text(card, number)
    recipient = card["recipient"]
    if card["notification"]["channel"] == "email":
        message = EmailMessage()
        message["From"] = res.settings.smtp_from
        message["To"] = recipient["customerEmail"]
        message["Subject"] = subject
        message["Message-ID"] = f"<giftcard-{card_id}@giftcards.local>"
        message.set_content(body)
        await send_email(res.settings, message)
    else:
        await sms_provider(res.settings).send(recipient["customerPhone"], body, f"card-{card_id}")
    await collection.update_one(
        {"_id": card["_id"]},
        {
            "$set": {
                "notification.status": "sent",
                "notification.sentAt": utcnow(),
                "notification.lastError": None,
            }
        },
    )
    log.info("notification for card %s sent by %s", card_id, card["notification"]["channel"])
    return True


async def record_failure(card_id: str, error: str, final: bool) -> None:
    await Card.get_pymongo_collection().update_one(
        {"_id": ObjectId(card_id), "notification.status": {"$ne": "sent"}},
        {
            "$set": {
                "notification.lastError": error[:500],
                "notification.status": "failed" if final else "pending",
            }
        },
    )


async def requeue_pending(
    res: Resources, older_than_seconds: int = 60, within_hours: int = 48, limit: int = 1000
) -> int:
    """Notifications still pending a while after their card was made (Redis was down when they
    were to be queued, or Redis lost them): queue them again. The job id dedupes the rest.

    Only the cards of recent recipient batches are searched, through the
    (program_id, bulk_issuance_id, seq) index: a filter on `notification.status` alone would
    scan every card, and on the embedded server that scan stalls every other request."""
    now = utcnow()
    cutoff = now - timedelta(seconds=older_than_seconds)
    issuances = BulkIssuance.get_pymongo_collection()
    batches = issuances.find(
        {
            "mode": "recipients",
            "notifications_open": True,
            "created_at": {"$gte": now - timedelta(hours=within_hours)},
        },
        {"program_id": 1, "status": 1},
    )
    card_ids: list[str] = []
    async for batch in batches:
        cursor = (
            Card.get_pymongo_collection()
            .find(
                {
                    "program_id": batch["program_id"],
                    "bulk_issuance_id": str(batch["_id"]),
                    "notification.status": {"$in": ["pending", "sending"]},
                    "created_at": {"$lt": cutoff},
                },
                {"_id": 1},
            )
            .limit(limit - len(card_ids))
        )
        found = [str(doc["_id"]) async for doc in cursor]
        if not found and batch["status"] == "completed" and await _all_settled(batch):
            await issuances.update_one(
                {"_id": batch["_id"]}, {"$set": {"notifications_open": False}}
            )
        card_ids += found
        if len(card_ids) >= limit:
            break
    await jobs.enqueue_notifications(res.redis, card_ids)
    return len(card_ids)


async def _all_settled(batch: dict) -> bool:
    """No card of the batch still waits to be sent (recent ones included)."""
    waiting = await Card.get_pymongo_collection().find_one(
        {
            "program_id": batch["program_id"],
            "bulk_issuance_id": str(batch["_id"]),
            "notification.status": {"$in": ["pending", "sending"]},
        },
        {"_id": 1},
    )
    return waiting is None
