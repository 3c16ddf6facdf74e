from app.domain.merchants.services import MerchantService
from app.storage.resources import Resources


def provide_merchant_service(resources: Resources) -> MerchantService:
    return MerchantService(resources)
