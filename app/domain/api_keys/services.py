"""API keys. A merchant created before keys had their own collection has its original key
only as `Merchant.api_key_hash`: the first time that key is used (or the merchant's keys are
listed, created or revoked) it is adopted as an `api_keys` document, which from then on is
what decides whether the key works; nothing has to be migrated up front."""

import hashlib
import secrets
from datetime import datetime

from pymongo.errors import DuplicateKeyError

from app.domain.api_keys.schemas import ApiKeyList, ApiKeyOut, NewApiKeyOut
from app.lib.errors import ConflictError, NotFoundError
from app.lib.types import now_ms
from app.storage.models import ApiKey, Merchant
from app.storage.repositories.api_keys import ACTIVE_SLOTS
from app.storage.resources import Resources

PREFIX_LENGTH = 8  # "gk_" and five random characters: enough to tell a merchant's keys apart
# last use is a hint for rotations, not an audit log: one write a minute per key at most
LAST_USED_RESOLUTION_MS = 60_000


def hash_api_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def new_api_key() -> str:
    return "gk_" + secrets.token_urlsafe(32)


class ApiKeyService:
    def __init__(self, resources: Resources) -> None:
        self.res = resources

    async def authenticate(self, api_key: str) -> str | None:
        """The id of the merchant owning `api_key` if the key is active, else None."""
        key_hash = hash_api_key(api_key)
        key = await self.res.db.api_keys.by_hash(key_hash)
        if key is None:
            merchant = await self.res.db.merchants.by_api_key_hash(key_hash)
            if merchant is None:
                return None
            key = await self.adopt(merchant, api_key[:PREFIX_LENGTH])
        if key is None or key.revoked_ms is not None:
            return None
        now = now_ms()
        if key.last_used_ms is None or now - key.last_used_ms >= LAST_USED_RESOLUTION_MS:
            await self.res.db.api_keys.touch(str(key.id), now)
        return key.merchant_id

    async def create(self, merchant_id: str, api_key: str | None = None) -> NewApiKeyOut:
        """A new active key (409 `too_many_keys` when the merchant has two already)."""
        await self.adopt_original(merchant_id)
        key = api_key or new_api_key()
        stored = await self._insert(merchant_id, hash_api_key(key), key[:PREFIX_LENGTH])
        if stored is None:
            raise ConflictError(
                "A merchant has at most two active API keys: revoke one first.",
                code="too_many_keys",
            )
        return NewApiKeyOut(key=key, **ApiKeyOut.from_key(stored).model_dump())

    async def list_active(self, merchant_id: str) -> ApiKeyList:
        await self.adopt_original(merchant_id)
        keys = await self.res.db.api_keys.active(merchant_id)
        return ApiKeyList(data=[ApiKeyOut.from_key(key) for key in keys])

    async def revoke(self, merchant_id: str, key_id: str) -> None:
        """The key stops working for /v2/token at once (tokens issued with it live out their
        TTL). Revoking a revoked key is a no-op; the last active key is kept (409)."""
        await self.adopt_original(merchant_id)
        key = await self.res.db.api_keys.of_merchant(merchant_id, key_id)
        if key is None:
            raise NotFoundError("API key not found.", code="api_key_not_found")
        if key.revoked_ms is not None:
            return
        # revoke, then check: two concurrent revokes of a merchant's two keys both see no
        # active key left and both undo theirs, so a merchant never ends up with none
        if not await self.res.db.api_keys.revoke(key_id, now_ms()):
            return  # a concurrent request revoked it
        remaining = await self.res.db.api_keys.active(merchant_id)
        if not remaining and await self.res.db.api_keys.restore(key_id, key.slot):
            raise ConflictError(
                "This is the merchant's last active API key: create another one first.",
                code="last_api_key",
            )

    async def adopt_original(self, merchant_id: str) -> None:
        merchant = await self.res.db.merchants.get(merchant_id)
        if merchant is None:
            raise NotFoundError("Merchant not found.", code="merchant_not_found")
        if await self.res.db.api_keys.by_hash(merchant.api_key_hash) is None:
            await self.adopt(merchant, "")

    async def adopt(self, merchant: Merchant, prefix: str) -> ApiKey | None:
        """The merchant's original key (`api_key_hash`) as a document, or the one a concurrent
        adoption stored."""
        adopted = await self._insert(
            str(merchant.id), merchant.api_key_hash, prefix, merchant.created_at
        )
        return adopted or await self.res.db.api_keys.by_hash(merchant.api_key_hash)

    async def _insert(
        self, merchant_id: str, key_hash: str, prefix: str, created_at: datetime | None = None
    ) -> ApiKey | None:
        """Takes the first free active slot; None when both are taken (or the hash is known)."""
        for slot in ACTIVE_SLOTS:
            key = ApiKey(merchant_id=merchant_id, key_hash=key_hash, prefix=prefix, slot=slot)
            if created_at is not None:
                key.created_at = created_at
            try:
                await self.res.db.api_keys.insert(key)
            except DuplicateKeyError:
                if await self.res.db.api_keys.by_hash(key_hash) is not None:
                    return None
                continue
            return key
        return None
