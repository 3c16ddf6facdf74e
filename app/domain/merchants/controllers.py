from litestar import Controller, post
from litestar.datastructures import State
from litestar.di import Provide
from litestar.status_codes import HTTP_200_OK

from app.domain.merchants.dependencies import provide_merchant_service
from app.domain.merchants.schemas import (
    RotatedSecret,
    SecretRotation,
    TokenRequest,
    TokenResponse,
)
from app.domain.merchants.services import MerchantService
from app.domain.urls import TOKEN, WEBHOOK_SECRET_ROTATE
from app.lib.openapi import documented


class TokenController(Controller):
    tags = ["Auth"]
    dependencies = {"merchants": Provide(provide_merchant_service, sync_to_thread=False)}

    @post(
        TOKEN,
        operation_id="createToken",
        summary="Exchange an API key for a bearer token",
        status_code=HTTP_200_OK,
        exclude_from_auth=True,
        **documented(401, 413, 422, 429, public=True, token=True),
    )
    async def create_token(
        self, data: TokenRequest, merchants: MerchantService, state: State
    ) -> TokenResponse:
        return await merchants.token(data.api_key, state.jwt_auth)


class WebhookSecretController(Controller):
    tags = ["Webhooks"]
    dependencies = {"merchants": Provide(provide_merchant_service, sync_to_thread=False)}

    @post(
        WEBHOOK_SECRET_ROTATE,
        operation_id="rotateWebhookSecret",
        summary="Replace the webhook secret; the old one keeps signing for a grace period",
        status_code=HTTP_200_OK,
        **documented(post=True),
    )
    async def rotate(
        self, merchant_id: str, merchants: MerchantService, data: SecretRotation | None = None
    ) -> RotatedSecret:
        grace = data.grace_period_seconds if data is not None else None
        return await merchants.rotate_webhook_secret(merchant_id, grace)
