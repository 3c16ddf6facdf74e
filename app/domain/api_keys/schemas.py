from datetime import UTC, datetime

from app.lib.schema import ApiResponse
from app.lib.types import UtcDatetime
from app.storage.models import ApiKey


class ApiKeyOut(ApiResponse):
    id: str
    prefix: str  # the key's first characters, to tell keys apart ("" for an original key)
    created_at: UtcDatetime
    last_used_at: UtcDatetime | None  # updated at most once a minute

    @classmethod
    def from_key(cls, key: ApiKey) -> "ApiKeyOut":
        return cls(
            id=str(key.id),
            prefix=key.prefix,
            created_at=key.created_at,
            last_used_at=_from_ms(key.last_used_ms),
        )


class NewApiKeyOut(ApiKeyOut):
    key: str  # shown once; only its hash is stored


class ApiKeyList(ApiResponse):
    data: list[ApiKeyOut]  # the active keys, oldest first


def _from_ms(value: int | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value / 1000, UTC)
