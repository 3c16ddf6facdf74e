from app.domain.webhooks.services import WebhookDeliveryService
from app.storage.resources import Resources


def provide_webhook_delivery_service(resources: Resources) -> WebhookDeliveryService:
    return WebhookDeliveryService(resources)
