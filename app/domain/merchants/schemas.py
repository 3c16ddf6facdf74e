from typing import Annotated

from pydantic import Field

from app.lib.schema import ApiRequest, ApiResponse, with_example
from app.lib.types import UtcDatetime


class TokenRequest(ApiRequest):
    model_config = with_example({"apiKey": "gk_6QdZ0x7kV2mW1tq9YHf3cJr8LbN4sPaE5uGiTzKoXyA"})

    api_key: Annotated[str, Field(min_length=1, max_length=512)]


class TokenResponse(ApiResponse):
    access_token: str
    token_type: str = "Bearer"
    expires_in: int

    @classmethod
    def from_token(cls, token: str, ttl_seconds: int) -> "TokenResponse":
        return cls(access_token=token, expires_in=ttl_seconds)


class SecretRotation(ApiRequest):
    """How long the secret being replaced keeps signing (both signatures are sent meanwhile),
    so receivers can switch to the new one without dropping a call."""

    model_config = with_example({"gracePeriodSeconds": 86_400})

    grace_period_seconds: Annotated[int, Field(ge=0, le=7 * 86_400)] | None = None


class RotatedSecret(ApiResponse):
    secret: str  # shown once
    previous_secret_expires_at: UtcDatetime
