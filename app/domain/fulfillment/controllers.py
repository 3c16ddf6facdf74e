from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.di import Provide
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_202_ACCEPTED

from app.domain.fulfillment.dependencies import provide_fulfillment_service
from app.domain.fulfillment.events import SIGNATURE_HEADER
from app.domain.fulfillment.schemas import (
    FulfillAccepted,
    FulfillmentOrderOut,
    PrinterEventResult,
    ShippingConfigCreate,
    ShippingConfigOut,
)
from app.domain.fulfillment.services import FulfillmentService
from app.domain.urls import (
    FULFILL,
    FULFILLMENT_EVENTS,
    FULFILLMENT_ORDER,
    FULFILLMENT_ORDER_CANCEL,
    FULFILLMENT_ORDER_RESUBMIT,
    FULFILLMENT_ORDERS,
    SHIPPING_CONFIG,
    SHIPPING_CONFIGS,
)
from app.lib.openapi import documented
from app.lib.pagination import Page
from app.lib.types import OBJECT_ID_PATTERN, CursorQuery, LimitQuery, ObjectIdPath
from app.storage.states import OrderStatus

_DEPENDENCIES = {"fulfillment": Provide(provide_fulfillment_service, sync_to_thread=False)}


class ShippingConfigController(Controller):
    tags = ["Physical cards"]
    dependencies = _DEPENDENCIES

    @post(
        SHIPPING_CONFIGS,
        operation_id="createShippingConfig",
        summary="Create a bulk shipping configuration",
        status_code=HTTP_201_CREATED,
        **documented(post=True),
    )
    async def create(
        self, merchant_id: str, data: ShippingConfigCreate, fulfillment: FulfillmentService
    ) -> ShippingConfigOut:
        return await fulfillment.create_config(merchant_id, data)

    @get(
        SHIPPING_CONFIGS,
        operation_id="listShippingConfigs",
        summary="List shipping configs",
        **documented(),
    )
    async def list_all(
        self,
        merchant_id: str,
        fulfillment: FulfillmentService,
        limit: LimitQuery = 100,
        cursor: CursorQuery = None,
    ) -> Page[ShippingConfigOut]:
        return await fulfillment.list_configs(merchant_id, limit, cursor)

    @get(
        SHIPPING_CONFIG,
        operation_id="getShippingConfig",
        summary="One shipping configuration",
        **documented(404),
    )
    async def get_one(
        self, merchant_id: str, shippingConfigId: ObjectIdPath, fulfillment: FulfillmentService
    ) -> ShippingConfigOut:
        return await fulfillment.get_config(merchant_id, shippingConfigId)

    @post(
        FULFILL,
        operation_id="fulfillShippingConfig",
        summary="Order every waiting card of the configuration from the printer",
        description="202 with the new fulfillment order; 409 nothing_to_fulfill when no card "
        "of the configuration is CREATED. Each card is in exactly one order.",
        status_code=HTTP_202_ACCEPTED,
        **documented(404, post=True),
    )
    async def fulfill(
        self, merchant_id: str, shippingConfigId: ObjectIdPath, fulfillment: FulfillmentService
    ) -> FulfillAccepted:
        return await fulfillment.fulfill(merchant_id, shippingConfigId)


class FulfillmentOrderController(Controller):
    tags = ["Physical cards"]
    dependencies = _DEPENDENCIES

    @get(
        FULFILLMENT_ORDERS,
        operation_id="listFulfillmentOrders",
        summary="Fulfillment orders",
        **documented(),
    )
    async def list_all(
        self,
        merchant_id: str,
        fulfillment: FulfillmentService,
        shippingConfigId: Annotated[str | None, Parameter(pattern=OBJECT_ID_PATTERN)] = None,
        status: OrderStatus | None = None,
        limit: LimitQuery = 100,
        cursor: CursorQuery = None,
    ) -> Page[FulfillmentOrderOut]:
        return await fulfillment.list_orders(merchant_id, shippingConfigId, status, limit, cursor)

    @get(
        FULFILLMENT_ORDER,
        operation_id="getFulfillmentOrder",
        summary="One fulfillment order",
        **documented(404),
    )
    async def get_one(
        self, merchant_id: str, fulfillmentOrderId: ObjectIdPath, fulfillment: FulfillmentService
    ) -> FulfillmentOrderOut:
        return await fulfillment.get_order(merchant_id, fulfillmentOrderId)

    @post(
        FULFILLMENT_ORDER_RESUBMIT,
        operation_id="resubmitFulfillmentOrder",
        summary="Send a FAILED order to the printer again",
        description="202: the order is PENDING again, a fresh submission queued (its cards "
        "stay ORDERED). An order already resubmitted and still PENDING or SUBMITTED is "
        "answered as it is. 409 order_not_failed for any other status, "
        "order_not_resubmittable when the printer rejected or returned it.",
        status_code=HTTP_202_ACCEPTED,
        **documented(404, post=True),
    )
    async def resubmit(
        self, merchant_id: str, fulfillmentOrderId: ObjectIdPath, fulfillment: FulfillmentService
    ) -> FulfillmentOrderOut:
        return await fulfillment.resubmit_order(merchant_id, fulfillmentOrderId)

    @post(
        FULFILLMENT_ORDER_CANCEL,
        operation_id="cancelFulfillmentOrder",
        summary="Cancel a FAILED order: its cards go back to CREATED, for the next cut",
        description="200: the order is CANCELLED and each of its ORDERED cards is CREATED "
        "again, in no order. Cancelling a CANCELLED order answers it as it is. 409 "
        "order_not_cancellable for any other status (a PENDING order may be in the "
        "printer's hands).",
        status_code=HTTP_200_OK,
        **documented(404, post=True),
    )
    async def cancel(
        self, merchant_id: str, fulfillmentOrderId: ObjectIdPath, fulfillment: FulfillmentService
    ) -> FulfillmentOrderOut:
        return await fulfillment.cancel_order(merchant_id, fulfillmentOrderId)


class PrinterEventController(Controller):
    tags = ["Printer"]
    dependencies = _DEPENDENCIES

    @post(
        FULFILLMENT_EVENTS,
        operation_id="receivePrinterEvent",
        summary="A status event from the card printer (HMAC-signed, no token)",
        description=f"`{SIGNATURE_HEADER}`: hex HMAC-SHA256 of the raw body with the vendor "
        "secret. Body: {eventId, orderId, status, carrier?, trackingNumber?, cardIds?}. "
        "Idempotent by eventId; statuses only move forward.",
        status_code=HTTP_200_OK,
        **documented(401, 404, 413, 422, printer=True),
    )
    async def receive(
        self,
        request: Request[Any, Any, Any],
        fulfillment: FulfillmentService,
        # declared as the PrinterSignature security scheme, not as a parameter
        signature: Annotated[
            str | None, Parameter(header=SIGNATURE_HEADER, include_in_schema=False)
        ] = None,
    ) -> PrinterEventResult:
        return await fulfillment.printer_event(await request.body(), signature)
