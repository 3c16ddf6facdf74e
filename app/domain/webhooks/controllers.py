from typing import Annotated

from litestar import Controller, get, post
from litestar.di import Provide
from litestar.params import Parameter
from litestar.status_codes import HTTP_202_ACCEPTED

from app.domain.urls import WEBHOOK_DELIVERIES, WEBHOOK_DELIVERY_REDELIVER
from app.domain.webhooks.dependencies import provide_webhook_delivery_service
from app.domain.webhooks.schemas import WebhookDeliveryOut
from app.domain.webhooks.services import WebhookDeliveryService
from app.lib.openapi import documented
from app.lib.pagination import Page
from app.lib.types import CursorQuery, LimitQuery, ObjectIdPath
from app.storage.states import DeliveryStatus

# `state` is a name Litestar keeps for the app state: the parameter is named explicitly, and
# checked by the service, so a bad value is a 422 at ["query", "state"]
StateQuery = Annotated[
    str | None,
    Parameter(
        query="state",
        description="pending, delivered or failed",
        schema_extra={"enum": [s.value for s in DeliveryStatus]},
    ),
]


class WebhookDeliveryController(Controller):
    tags = ["Webhooks"]
    dependencies = {"deliveries": Provide(provide_webhook_delivery_service, sync_to_thread=False)}

    @get(
        WEBHOOK_DELIVERIES,
        operation_id="listWebhookDeliveries",
        summary="The merchant's webhook and callback deliveries, newest first",
        description="Every event POSTed to a callbackUrl is kept with its delivery state: "
        "pending (retried with backoff for WEBHOOK_RETRY_SPAN_SECONDS, 3 days by default), "
        "delivered, or failed (past that span, or at once when the endpoint answered 410).",
        **documented(),
    )
    async def list_all(
        self,
        merchant_id: str,
        deliveries: WebhookDeliveryService,
        delivery_state: StateQuery = None,
        limit: LimitQuery = 100,
        cursor: CursorQuery = None,
    ) -> Page[WebhookDeliveryOut]:
        return await deliveries.page(merchant_id, delivery_state, limit, cursor)

    @post(
        WEBHOOK_DELIVERY_REDELIVER,
        operation_id="redeliverWebhook",
        summary="Send a delivery again (same event id), now",
        description="202 with the delivery, pending and due now on a fresh retry schedule, "
        "whatever its state was; receivers deduplicate on the event id.",
        status_code=HTTP_202_ACCEPTED,
        **documented(404, post=True),
    )
    async def redeliver(
        self, merchant_id: str, deliveryId: ObjectIdPath, deliveries: WebhookDeliveryService
    ) -> WebhookDeliveryOut:
        return await deliveries.redeliver(merchant_id, deliveryId)
