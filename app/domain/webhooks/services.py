"""A merchant's webhook deliveries: the list, and a redelivery (the CLI's too)."""

from app.domain.webhooks import outbox
from app.domain.webhooks.schemas import WebhookDeliveryOut
from app.lib.errors import NotFoundError, validation_error
from app.lib.pagination import Page
from app.storage.models import WebhookDelivery
from app.storage.resources import Resources
from app.storage.states import DeliveryStatus


class WebhookDeliveryService:
    def __init__(self, resources: Resources) -> None:
        self.res = resources

    async def page(
        self, merchant_id: str, state: str | None, limit: int, cursor: str | None
    ) -> Page[WebhookDeliveryOut]:
        """Newest first, all or in one state."""
        found, nxt = await self.res.db.webhook_deliveries.page_of_merchant(
            merchant_id, _state(state), limit, cursor
        )
        data = [WebhookDeliveryOut.from_delivery(d) for d in found]
        return Page[WebhookDeliveryOut](data=data, next_cursor=nxt)

    async def redeliver(self, merchant_id: str | None, delivery_id: str) -> WebhookDeliveryOut:
        """Pending and due now, whatever its state (sent again with its event id); another
        merchant's delivery is a 404 (`merchant_id` None: an operator's, any merchant's)."""
        delivery = await self._find(merchant_id, delivery_id)
        again = await outbox.redeliver(self.res, str(delivery.id))
        if again is None:
            raise _not_found()
        return WebhookDeliveryOut.from_delivery(again)

    async def _find(self, merchant_id: str | None, delivery_id: str) -> WebhookDelivery:
        deliveries = self.res.db.webhook_deliveries
        if merchant_id is None:
            found = await deliveries.get(delivery_id)
        else:
            found = await deliveries.of_merchant(merchant_id, delivery_id)
        if found is None:
            raise _not_found()
        return found


def _state(value: str | None) -> DeliveryStatus | None:
    if not value:
        return None
    try:
        return DeliveryStatus(value)
    except ValueError:
        expected = ", ".join(f"'{s.value}'" for s in DeliveryStatus)
        raise validation_error(
            ["query", "state"],
            f"Input should be {expected}",
            type_="enum",
            input_=value,
            ctx={"expected": expected},
        ) from None


def _not_found() -> NotFoundError:
    return NotFoundError("Webhook delivery not found.", code="webhook_delivery_not_found")
