"""Every route path, named once."""

HEALTH = "/health"
READY = "/ready"
METRICS = "/metrics"  # Prometheus text, for the private network

TOKEN = "/v2/token"
PROGRAMS = "/v2/giftcards/programs"
PROGRAM = "/v2/giftcards/programs/{programId:str}"
BULK_ISSUE = "/v2/giftcards/programs/{programId:str}/cards/bulk"
PROGRAM_CARDS = "/v2/giftcards/programs/{programId:str}/cards"
PROGRAM_CARD = "/v2/giftcards/programs/{programId:str}/cards/{cardId:str}"
BULK_ISSUANCE = "/v2/giftcards/bulk-issuances/{bulkIssuanceId:str}"
TASK = "/v2/giftcards/tasks/{taskId:str}"
SHIPPING_CONFIGS = "/v2/giftcards/shipping-configs"
SHIPPING_CONFIG = "/v2/giftcards/shipping-configs/{shippingConfigId:str}"
FULFILL = "/v2/giftcards/shipping-configs/{shippingConfigId:str}/fulfill"
FULFILLMENT_ORDERS = "/v2/giftcards/fulfillment-orders"
FULFILLMENT_ORDER = "/v2/giftcards/fulfillment-orders/{fulfillmentOrderId:str}"
FULFILLMENT_EVENTS = "/v2/fulfillment/events"  # the printer's, public (HMAC-signed)

TASK_RETRY = "/v2/giftcards/tasks/{taskId:str}/retry"
TASK_CANCEL = "/v2/giftcards/tasks/{taskId:str}/cancel"
BULK_ISSUANCE_DEACTIVATE = "/v2/giftcards/bulk-issuances/{bulkIssuanceId:str}/deactivate"
BULK_ISSUANCE_ACTIVATE = "/v2/giftcards/bulk-issuances/{bulkIssuanceId:str}/activate"
BULK_ISSUANCE_EXPORT = "/v2/giftcards/bulk-issuances/{bulkIssuanceId:str}/export"
BULK_ISSUANCE_NOTIFICATIONS_RESEND = (
    "/v2/giftcards/bulk-issuances/{bulkIssuanceId:str}/notifications/resend"
)
CARD_NOTIFICATION_RESEND = (
    "/v2/giftcards/programs/{programId:str}/cards/{cardId:str}/notification/resend"
)
FULFILLMENT_ORDER_RESUBMIT = "/v2/giftcards/fulfillment-orders/{fulfillmentOrderId:str}/resubmit"
FULFILLMENT_ORDER_CANCEL = "/v2/giftcards/fulfillment-orders/{fulfillmentOrderId:str}/cancel"
WEBHOOK_DELIVERIES = "/v2/webhooks/deliveries"
WEBHOOK_DELIVERY_REDELIVER = "/v2/webhooks/deliveries/{deliveryId:str}/redeliver"
WEBHOOK_SECRET_ROTATE = "/v2/webhooks/secret/rotate"
API_KEYS = "/v2/api-keys"
API_KEY = "/v2/api-keys/{keyId:str}"


def task_location(task_id: str) -> str:
    return f"/v2/giftcards/tasks/{task_id}"
