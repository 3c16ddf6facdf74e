from app.domain.api_keys.services import ApiKeyService
from app.storage.resources import Resources


def provide_api_key_service(resources: Resources) -> ApiKeyService:
    return ApiKeyService(resources)
