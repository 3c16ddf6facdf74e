from app.domain.fulfillment.services import FulfillmentService
from app.storage.resources import Resources


def provide_fulfillment_service(resources: Resources) -> FulfillmentService:
    return FulfillmentService(resources)
