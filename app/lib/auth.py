"""Bearer JWTs (Litestar's JWTAuth): the subject is the merchant id; no DB read per request."""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from litestar.connection import ASGIConnection
from litestar.security.jwt import JWTAuth, Token

from app.lib.logging import bind_ids
from app.lib.settings import Settings

PUBLIC_PATHS = ["/health", "/ready", "/schema", "/v2/token", "/v2/fulfillment/events"]


@dataclass(frozen=True)
class Principal:
    merchant_id: str


async def _principal_from_token(token: Token, _: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    bind_ids(merchant_id=token.sub)  # on every log line of the request from here on
    return Principal(merchant_id=token.sub)


def jwt_auth(settings: Settings) -> JWTAuth[Principal, Token]:
    return JWTAuth[Principal, Token](
        token_secret=settings.jwt_secret,
        retrieve_user_handler=_principal_from_token,
        exclude=PUBLIC_PATHS,
        default_token_expiration=timedelta(seconds=settings.jwt_ttl_seconds),
        description="JWT access token obtained from POST /v2/token.",
    )
