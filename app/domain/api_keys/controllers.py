from litestar import Controller, delete, get, post
from litestar.di import Provide
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from app.domain.api_keys.dependencies import provide_api_key_service
from app.domain.api_keys.schemas import ApiKeyList, NewApiKeyOut
from app.domain.api_keys.services import ApiKeyService
from app.domain.urls import API_KEY, API_KEYS
from app.lib.openapi import documented
from app.lib.types import ObjectIdPath


class ApiKeyController(Controller):
    tags = ["Auth"]
    dependencies = {"api_keys": Provide(provide_api_key_service, sync_to_thread=False)}

    @post(
        API_KEYS,
        operation_id="createApiKey",
        summary="Create an API key (shown once); at most two are active at a time",
        description="To rotate a key without downtime: create a second one, move the clients "
        "to it, then revoke the first. A third active key is a 409 `too_many_keys`.",
        status_code=HTTP_201_CREATED,
        **documented(409, post=True),
    )
    async def create(self, merchant_id: str, api_keys: ApiKeyService) -> NewApiKeyOut:
        return await api_keys.create(merchant_id)

    @get(
        API_KEYS,
        operation_id="listApiKeys",
        summary="The merchant's active API keys: prefix, creation and last use",
        **documented(),
    )
    async def list_active(self, merchant_id: str, api_keys: ApiKeyService) -> ApiKeyList:
        return await api_keys.list_active(merchant_id)

    @delete(
        API_KEY,
        operation_id="revokeApiKey",
        summary="Revoke an API key",
        description="The key stops working for /v2/token at once; tokens already issued with "
        "it stay valid until they expire (JWT_TTL_SECONDS). The last active key cannot be "
        "revoked (409 `last_api_key`): create its replacement first.",
        status_code=HTTP_204_NO_CONTENT,
        **documented(404, 409),
    )
    async def revoke(self, merchant_id: str, keyId: ObjectIdPath, api_keys: ApiKeyService) -> None:
        await api_keys.revoke(merchant_id, keyId)
