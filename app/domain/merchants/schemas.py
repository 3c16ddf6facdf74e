from typing import Annotated

from pydantic import Field

from app.lib.schema import ApiRequest, ApiResponse


class TokenRequest(ApiRequest):
    api_key: Annotated[str, Field(min_length=1, max_length=512)]


class TokenResponse(ApiResponse):
    access_token: str
    token_type: str = "Bearer"
    expires_in: int

    @classmethod
    def from_token(cls, token: str, ttl_seconds: int) -> "TokenResponse":
        return cls(access_token=token, expires_in=ttl_seconds)
