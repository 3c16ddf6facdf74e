from datetime import timedelta

from litestar import Controller, post
from litestar.datastructures import State
from litestar.status_codes import HTTP_200_OK

from app.domain.merchants import services
from app.domain.merchants.schemas import TokenRequest, TokenResponse
from app.lib.errors import UnauthorizedError
from app.urls import TOKEN


class TokenController(Controller):
    tags = ["Auth"]

    @post(
        TOKEN,
        operation_id="createToken",
        summary="Exchange an API key for a bearer token",
        status_code=HTTP_200_OK,
        exclude_from_auth=True,
    )
    async def create_token(self, data: TokenRequest, state: State) -> TokenResponse:
        merchant = await services.authenticate(data.apiKey)
        if merchant is None:
            raise UnauthorizedError("The API key is not valid.", code="invalid_api_key")
        ttl = state.settings.jwt_ttl_seconds
        token = state.jwt_auth.create_token(
            identifier=str(merchant.id), token_expiration=timedelta(seconds=ttl)
        )
        return TokenResponse(accessToken=token, expiresIn=ttl)
