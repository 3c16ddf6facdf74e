from litestar import Controller, post
from litestar.di import Provide
from litestar.status_codes import HTTP_202_ACCEPTED

from app.domain.cards.schemas import NotificationOut
from app.domain.notifications.dependencies import provide_notification_service
from app.domain.notifications.schemas import NotificationsRequeued
from app.domain.notifications.services import NotificationService
from app.domain.urls import BULK_ISSUANCE_NOTIFICATIONS_RESEND, CARD_NOTIFICATION_RESEND
from app.lib.openapi import documented
from app.lib.types import ObjectIdPath


class NotificationController(Controller):
    tags = ["Notifications"]
    dependencies = {"notifications": Provide(provide_notification_service, sync_to_thread=False)}

    @post(
        CARD_NOTIFICATION_RESEND,
        operation_id="resendCardNotification",
        summary="Send the card's notification to its recipient again",
        description="202 with the notification pending and due now, a new round of tries (a "
        "sent one is sent again). 409 no_recipient for a card without one, "
        "409 notification_in_flight while a try is under way.",
        status_code=HTTP_202_ACCEPTED,
        **documented(404, post=True),
    )
    async def resend_card(
        self,
        merchant_id: str,
        programId: ObjectIdPath,
        cardId: ObjectIdPath,
        notifications: NotificationService,
    ) -> NotificationOut:
        return await notifications.resend_card(merchant_id, programId, cardId)

    @post(
        BULK_ISSUANCE_NOTIFICATIONS_RESEND,
        operation_id="resendFailedNotifications",
        summary="Send the batch's failed notifications again",
        description="202 with how many `failed` notifications are pending again, due now. "
        "409 no_recipients for a batch issued by count.",
        status_code=HTTP_202_ACCEPTED,
        **documented(404, post=True),
    )
    async def resend_failed(
        self, merchant_id: str, bulkIssuanceId: ObjectIdPath, notifications: NotificationService
    ) -> NotificationsRequeued:
        return await notifications.resend_failed(merchant_id, bulkIssuanceId)
