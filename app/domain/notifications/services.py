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

from app.domain.notifications.channels import send_email, sms_provider
from app.lib import jobs
from app.lib.money import format_minor
from app.lib.types import utcnow
from app.storage.models import Card, Recipient
from app.storage.repositories import OpenRecipientBatch
from app.storage.resources import Resources
from app.storage.states import NotificationChannel, NotificationStatus, TaskStatus

log = logging.getLogger(__name__)


def _text(card: Card, number: str) -> tuple[str, str]:
    recipient = card.recipient or Recipient()
    amount = f"{format_minor(card.initial_value, card.currency)} {card.currency}"
    sender = recipient.sender_name or "Someone"
    lines = [
        f"Hello {recipient.customer_name or 'there'},",
        "",
        f"{sender} sent you a gift card worth {amount}.",
        f"Card number: {number}",
    ]
    if recipient.custom_message:
        lines += ["", f"Message from {sender}: {recipient.custom_message}"]
    return f"{sender} sent you a {amount} gift card", "\n".join(lines) + "\n"


async def send_for_card(res: Resources, card_id: str) -> bool:
    """Sends the card's notification unless already sent. Returns False when nothing was due."""
    card = await res.db.cards.get(card_id)
    if card is None or card.notification is None or card.recipient is None:
        return False
    note = card.notification
    if note.status == NotificationStatus.SENT:
        return False
    maybe_sent = note.status == NotificationStatus.SENDING  # an attempt died mid-way
    await res.db.cards.start_notification(card_id)
    log.debug(
        "sending the %s notification of card %s (try %d%s)",
        note.channel,
        card_id,
        note.attempts + 1,
        ", an earlier try may have sent it" if maybe_sent else "",
    )
    number = res.vault.decrypt(card.number_enc, card_id)
    subject, body = _text(card, number)
    recipient = card.recipient
    if note.channel == NotificationChannel.EMAIL:
        message = EmailMessage()
        message["From"] = res.settings.smtp_from
        message["To"] = recipient.customer_email or ""
        message["Subject"] = subject
        message["Message-ID"] = f"<giftcard-{card_id}@giftcards.local>"
        message.set_content(body)
        await send_email(res.settings, message)
    else:
        phone = recipient.customer_phone or ""
        await sms_provider(res.settings).send(phone, body, f"card-{card_id}")
    await res.db.cards.notification_sent(card_id)
    log.info("notification for card %s sent by %s", card_id, note.channel)
    return True


async def record_failure(res: Resources, card_id: str, error: str, final: bool) -> None:
    await res.db.cards.notification_failed(card_id, error, final)


async def requeue_pending(
    res: Resources, older_than_seconds: int = 60, within_hours: int = 48, limit: int = 1000
) -> int:
    """Notifications still pending a while after their card was made (Redis was down when they
    were to be queued, or Redis lost them): queue them again. The job id dedupes the rest.

    Only the cards of recent recipient batches are searched, through the
    (program_id, bulk_issuance_id, seq) index: a filter on the notification's status alone
    would scan every card, and on the embedded server that scan stalls every other request."""
    now = utcnow()
    cutoff = now - timedelta(seconds=older_than_seconds)
    card_ids: list[str] = []
    for batch in await res.db.issuances.open_recipient_batches(now - timedelta(hours=within_hours)):
        found = await res.db.cards.open_notifications(
            batch.program_id, batch.id, created_before=cutoff, limit=limit - len(card_ids)
        )
        if not found and batch.status == TaskStatus.COMPLETED and await _all_settled(res, batch):
            await res.db.issuances.close_notifications(batch.id)
        card_ids += found
        if len(card_ids) >= limit:
            break
    await jobs.enqueue_notifications(res.redis, card_ids)
    return len(card_ids)


async def _all_settled(res: Resources, batch: OpenRecipientBatch) -> bool:
    """No card of the batch still waits to be sent (recent ones included)."""
    return not await res.db.cards.open_notifications(batch.program_id, batch.id, limit=1)
