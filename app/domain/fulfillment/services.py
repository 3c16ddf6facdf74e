"""The fulfillment service the controllers call: one method per route."""

from bson import ObjectId

from app.domain.fulfillment import events, recovery
from app.domain.fulfillment.orders import cut
from app.domain.fulfillment.presentation import describe
from app.domain.fulfillment.providers import check_shipping_method
from app.domain.fulfillment.schemas import (
    FulfillAccepted,
    FulfillmentOrderOut,
    PrinterEventResult,
    ShippingConfigCreate,
    ShippingConfigOut,
)
from app.lib.errors import ConflictError, NotFoundError
from app.lib.pagination import Page
from app.lib.types import utcnow
from app.storage import models
from app.storage.resources import Resources
from app.storage.states import OrderStatus, ShippingPolicy


class FulfillmentService:
    def __init__(self, resources: Resources) -> None:
        self.res = resources

    # ----------------------------------------------------------------- shipping configurations

    async def create_config(
        self, merchant_id: str, data: ShippingConfigCreate
    ) -> ShippingConfigOut:
        check_shipping_method(data.shipping.method, self.res.settings)
        now = utcnow()
        return_address = data.return_address
        config = models.ShippingConfig(
            merchant_id=merchant_id,
            name=data.name,
            policy=data.policy,
            shipping=models.Shipping.model_validate(data.shipping.model_dump(mode="json")),
            return_address=(
                models.Address.model_validate(return_address.model_dump(mode="json"))
                if return_address
                else None
            ),
            created_ms=int(now.timestamp() * 1000),
            created_at=now,
        )
        await self.res.db.shipping_configs.insert(config)
        return ShippingConfigOut.from_config(config)

    async def get_config(self, merchant_id: str, config_id: str) -> ShippingConfigOut:
        return ShippingConfigOut.from_config(await self._config(merchant_id, config_id))

    async def list_configs(
        self, merchant_id: str, limit: int, cursor: str | None
    ) -> Page[ShippingConfigOut]:
        found, nxt = await self.res.db.shipping_configs.page(merchant_id, limit, cursor)
        data = [ShippingConfigOut.from_config(c) for c in found]
        return Page[ShippingConfigOut](data=data, next_cursor=nxt)

    async def _config(self, merchant_id: str, config_id: str) -> models.ShippingConfig:
        """Another merchant's configuration is indistinguishable from a missing one."""
        config = await self.res.db.shipping_configs.of_merchant(merchant_id, config_id)
        if config is None:
            raise NotFoundError(
                "Shipping configuration not found.", code="shipping_config_not_found"
            )
        return config

    # ----------------------------------------------------------------- orders

    async def fulfill(self, merchant_id: str, config_id: str) -> FulfillAccepted:
        """MANUAL fulfillment: every waiting card of the configuration, in one new order."""
        config = await self._config(merchant_id, config_id)
        order = await cut(self.res, config, ObjectId(), ShippingPolicy.MANUAL)
        if order is None:
            raise ConflictError(
                "No card of this shipping configuration is waiting to be ordered.",
                code="nothing_to_fulfill",
            )
        return FulfillAccepted.from_order(order)

    async def get_order(self, merchant_id: str, order_id: str) -> FulfillmentOrderOut:
        order = await self.res.db.fulfillment_orders.visible_of_merchant(merchant_id, order_id)
        if order is None:
            raise NotFoundError("Fulfillment order not found.", code="fulfillment_order_not_found")
        return await describe(self.res, order)

    async def resubmit_order(self, merchant_id: str, order_id: str) -> FulfillmentOrderOut:
        return await describe(self.res, await recovery.resubmit(self.res, order_id, merchant_id))

    async def cancel_order(self, merchant_id: str, order_id: str) -> FulfillmentOrderOut:
        return await describe(self.res, await recovery.cancel(self.res, order_id, merchant_id))

    async def list_orders(
        self,
        merchant_id: str,
        config_id: str | None,
        status: OrderStatus | None,
        limit: int,
        cursor: str | None,
    ) -> Page[FulfillmentOrderOut]:
        found, nxt = await self.res.db.fulfillment_orders.page_visible(
            merchant_id, config_id, status, limit, cursor
        )
        data = [await describe(self.res, o) for o in found]
        return Page[FulfillmentOrderOut](data=data, next_cursor=nxt)

    # ----------------------------------------------------------------- the printer

    async def printer_event(self, body: bytes, signature: str | None) -> PrinterEventResult:
        return await events.receive(self.res, body, signature)
