"""The fulfillment service the controllers call: one method per route."""

from app.domain.fulfillment import configs, events, orders
from app.domain.fulfillment.schemas import (
    FulfillAccepted,
    FulfillmentOrderOut,
    PrinterEventResult,
    ShippingConfigCreate,
    ShippingConfigOut,
)
from app.lib.pagination import Page
from app.lib.resources import Resources


class FulfillmentService:
    def __init__(self, resources: Resources) -> None:
        self.res = resources

    @property
    def _ttl(self) -> int:
        return self.res.settings.manifest_link_ttl_seconds

    async def create_config(
        self, merchant_id: str, data: ShippingConfigCreate
    ) -> ShippingConfigOut:
        return configs.describe_config(await configs.create_config(merchant_id, data))

    async def get_config(self, merchant_id: str, config_id: str) -> ShippingConfigOut:
        return configs.describe_config(await configs.get_config(merchant_id, config_id))

    async def list_configs(
        self, merchant_id: str, limit: int, cursor: str | None
    ) -> Page[ShippingConfigOut]:
        found, nxt = await configs.list_configs(merchant_id, limit, cursor)
        data = [configs.describe_config(c) for c in found]
        return Page[ShippingConfigOut](data=data, nextCursor=nxt)

    async def fulfill(self, merchant_id: str, config_id: str) -> FulfillAccepted:
        return await orders.fulfill(self.res, merchant_id, config_id)

    async def get_order(self, merchant_id: str, order_id: str) -> FulfillmentOrderOut:
        order = await orders.get_order(merchant_id, order_id)
        return await orders.describe_order(self.res.store, order, self._ttl)

    async def list_orders(
        self,
        merchant_id: str,
        config_id: str | None,
        status: str | None,
        limit: int,
        cursor: str | None,
    ) -> Page[FulfillmentOrderOut]:
        found, nxt = await orders.list_orders(merchant_id, config_id, status, limit, cursor)
        data = [await orders.describe_order(self.res.store, o, self._ttl) for o in found]
        return Page[FulfillmentOrderOut](data=data, nextCursor=nxt)

    async def printer_event(self, body: bytes, signature: str | None) -> PrinterEventResult:
        return await events.receive(self.res, body, signature)
