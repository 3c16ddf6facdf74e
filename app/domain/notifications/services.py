"""Sending a recipient's notification again, for one card or a batch's failed ones.

A resend starts a new round of tries on the card (attempts and the retry span count from
now) and reopens the batch, so the sweep sends it even when the queue loses the prompt job.
"""

import logging

from app.domain.cards.schemas import NotificationOut
from app.domain.notifications.schemas import NotificationsRequeued
from app.lib import jobs
from app.lib.errors import ConflictError, NotFoundError
from app.lib.types import now_ms
from app.storage.resources import Resources
from app.storage.states import IssuanceMode

log = logging.getLogger(__name__)


class NotificationService:
    def __init__(self, resources: Resources) -> None:
        self.res = resources

    async def resend_card(self, merchant_id: str, program_id: str, card_id: str) -> NotificationOut:
        card = await self.res.db.cards.resend_notification(
            merchant_id, program_id, card_id, now_ms()
        )
        if card is None:
            raise await self._why_not_resent(merchant_id, program_id, card_id)
        assert card.notification is not None
        await self.res.db.issuances.reopen_notifications(card.bulk_issuance_id)
        try:  # for speed only: the sweep finds it anyway
            await jobs.enqueue_notifications(self.res.redis, [card_id])
        except Exception:
            log.warning("could not queue the resend of card %s; the sweep sends it", card_id)
        return NotificationOut.from_notification(card.notification)

    async def _why_not_resent(
        self, merchant_id: str, program_id: str, card_id: str
    ) -> NotFoundError | ConflictError:
        card = await self.res.db.cards.view(merchant_id, program_id, card_id)
        if card is None:
            return NotFoundError("Card not found.", code="card_not_found")
        if card.notification is None:
            return ConflictError("The card has no recipient to notify.", code="no_recipient")
        return ConflictError(
            "A try of this notification is under way; ask again once it has finished.",
            code="notification_in_flight",
        )

    async def resend_failed(self, merchant_id: str, issuance_id: str) -> NotificationsRequeued:
        issuance = await self.res.db.issuances.of_merchant(merchant_id, issuance_id)
        if issuance is None:
            raise NotFoundError("Bulk issuance not found.", code="bulk_issuance_not_found")
        if issuance.mode != IssuanceMode.RECIPIENTS:
            raise ConflictError(
                "The bulk issuance has no recipients to notify.", code="no_recipients"
            )
        requeued = await self.res.db.cards.resend_failed(issuance.program_id, issuance_id, now_ms())
        if requeued:
            await self.res.db.issuances.reopen_notifications(issuance_id)
        log.info("bulk issuance %s: %d failed notification(s) requeued", issuance_id, requeued)
        return NotificationsRequeued(requeued=requeued)
