"""One notification per recipient card, sent by a worker after the card exists.

State and schedule live on the card: `notification.status` pending → sending → sent (or
failed), with attempts, lastError, sentAt and when the next try is due. A try first claims
the notification (`sending`, attempts + 1, a lease), so two workers never send it at once and
a try that died mid-way is known: once its lease runs out the sweep tries again, knowing the
earlier try may have gone out. A failure schedules the next try on the card (see schedule.py)
and never touches the card itself; nothing depends on the queue keeping a retry.

What stays at-least-once is the gap between a successful send and recording `sent`. The SMS
webhook gets the same Idempotency-Key each time (a gateway that honours it sends once); SMTP
has no such key, so the email keeps one Message-ID for receivers to drop the copy.
"""

import logging
from email.message import EmailMessage

from app.domain.notifications import schedule
from app.domain.notifications.channels import send_email, sms_provider
from app.lib import jobs, metrics
from app.lib.money import format_minor
from app.lib.types import now_ms
from app.storage.models import Card, Recipient
from app.storage.repositories import OpenRecipientBatch
from app.storage.resources import Resources
from app.storage.states import FINISHED_TASK, NotificationChannel, NotificationStatus

log = logging.getLogger(__name__)
_LEASE_MARGIN_SECONDS = 10  # past the job's timeout: the try is dead, not slow


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


async def send_due(res: Resources, card_id: str) -> bool:
    """One try of the card's notification, if one is due. A failure is recorded with the next
    try's time (or `failed` past the span), not raised. Returns True when it went out."""
    now = now_ms()
    lease_until = now + (res.settings.job_timeout_seconds + _LEASE_MARGIN_SECONDS) * 1000
    card = await res.db.cards.claim_notification(card_id, now, lease_until)
    if card is None or card.notification is None:
        return False
    note = card.notification
    log.debug(
        "sending the %s notification of card %s (try %d%s)",
        note.channel,
        card_id,
        note.attempts + 1,
        ", an earlier try may have sent it" if note.status == NotificationStatus.SENDING else "",
    )
    try:
        await _deliver(res, card, card_id, lease_until)
    except Exception as exc:  # any failure of a channel: tried again later
        await _schedule_retry(res, card, card_id, lease_until, exc)
        return False
    await res.db.cards.notification_sent(card_id)
    log.info("notification for card %s sent by %s", card_id, note.channel)
    metrics.NOTIFICATIONS.labels(note.channel, "sent").inc()
    return True


async def _deliver(res: Resources, card: Card, card_id: str, lease_until: int) -> None:
    """Sends on each of the notification's channels not yet sent this round, recording each
    one as it goes out, so a retry after a failure on one channel does not repeat the other."""
    note = card.notification
    assert note is not None
    number = res.vault.decrypt(card.number_enc, card_id)
    subject, body = _text(card, number)
    sent = list(note.sent_channels)
    for channel in note.channels or [note.channel]:
        if channel in sent:
            continue
        await _send(res, card, card_id, channel, subject, body)
        sent.append(channel)
        if len(sent) < len(note.channels):
            await res.db.cards.notification_channel_sent(card_id, lease_until, sent)


async def _send(
    res: Resources, card: Card, card_id: str, channel: NotificationChannel, subject: str, body: str
) -> None:
    recipient = card.recipient or Recipient()
    if channel == NotificationChannel.EMAIL:
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


async def _schedule_retry(
    res: Resources, card: Card, card_id: str, lease_until: int, exc: Exception
) -> None:
    assert card.notification is not None
    attempts = card.notification.attempts + 1
    now = now_ms()
    started = card.notification.round_started_ms or now
    due = schedule.next_attempt_ms(res.settings, attempts, started, now)
    await res.db.cards.notification_failed(card_id, lease_until, _error_text(exc), due)
    later = "giving up" if due is None else f"next try in {(due - now) / 1000:.1f}s"
    metrics.NOTIFICATIONS.labels(card.notification.channel, "retrying" if due else "failed").inc()
    log.warning(
        "notification for card %s failed (try %d): %s; %s",
        card_id,
        attempts,
        type(exc).__name__,
        later,
    )


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


async def queue_due(res: Resources, limit: int = 1000) -> int:
    """The sweep: queues a send job for every notification whose try is due (retries, tries
    that died mid-way, jobs Redis lost, resends); closes batches with nothing left to send.

    Only the cards of this deployment's open recipient batches are searched, through the
    (program_id, bulk_issuance_id, seq) index: a filter on the notification alone would scan
    every card (nx-27017 ignores partial and sparse indexes, so an index on the due time would
    grow with every card ever issued), and on the embedded server that scan stalls every
    other request."""
    now = now_ms()
    card_ids: list[str] = []
    for batch in await res.db.issuances.open_recipient_batches(res.settings.queue_name):
        due = await res.db.cards.due_notifications(
            batch.program_id, batch.id, now, limit=limit - len(card_ids)
        )
        if not due and batch.status in FINISHED_TASK and await _all_settled(res, batch):
            await res.db.issuances.close_notifications(batch)
        card_ids += due
        if len(card_ids) >= limit:
            break
    await jobs.enqueue_notifications(res.redis, card_ids)
    return len(card_ids)


async def _all_settled(res: Resources, batch: OpenRecipientBatch) -> bool:
    """No card of the batch still waits to be sent (scheduled ones included)."""
    return not await res.db.cards.open_notifications(batch.program_id, batch.id, limit=1)
