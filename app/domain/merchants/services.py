"""Merchants: created by the operator's CLI, authenticated by their API key."""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bson import ObjectId
from litestar.security.jwt import JWTAuth
from pymongo.errors import DuplicateKeyError

from app.domain.api_keys.services import (
    PREFIX_LENGTH,
    ApiKeyService,
    hash_api_key,
    new_api_key,
)
from app.domain.merchants.schemas import RotatedSecret, TokenResponse
from app.domain.webhooks.signing import new_secret
from app.lib.errors import ConflictError, NotFoundError, UnauthorizedError
from app.lib.types import utcnow
from app.storage.models import Merchant
from app.storage.resources import Resources


@dataclass(frozen=True)
class NewMerchant:
    merchant: Merchant
    api_key: str  # shown once; only its hash is stored
    webhook_secret: str  # signs our callbacks; stored encrypted so we can sign with it


class MerchantService:
    def __init__(self, resources: Resources) -> None:
        self.res = resources

    async def token(self, api_key: str, jwt_auth: JWTAuth[Any, Any]) -> TokenResponse:
        """A bearer token for the merchant owning `api_key` (401 for an unknown or revoked
        key). Revoking a key does not end the tokens issued with it: they expire by their TTL."""
        merchant_id = await ApiKeyService(self.res).authenticate(api_key)
        if merchant_id is None:
            raise UnauthorizedError("The API key is not valid.", code="invalid_api_key")
        ttl = self.res.settings.jwt_ttl_seconds
        token = jwt_auth.create_token(
            identifier=merchant_id, token_expiration=timedelta(seconds=ttl)
        )
        return TokenResponse.from_token(token, ttl)

    async def owner(self, api_key: str) -> Merchant | None:
        """The merchant created with `api_key` as its original key (revoked or not)."""
        return await self.res.db.merchants.by_api_key_hash(hash_api_key(api_key))

    async def create(self, name: str, api_key: str | None = None) -> NewMerchant:
        key = api_key or new_api_key()
        secret = new_secret()
        merchant_id = ObjectId()
        merchant = Merchant(
            id=merchant_id,
            name=name,
            api_key_hash=hash_api_key(key),
            webhook_secret_enc=self.res.vault.encrypt(secret, str(merchant_id)),
        )
        await self.res.db.merchants.insert(merchant)
        await ApiKeyService(self.res).adopt(merchant, key[:PREFIX_LENGTH])
        return NewMerchant(merchant, key, secret)

    async def ensure(self, name: str, api_key: str) -> tuple[Merchant, str]:
        """The merchant owning `api_key` and its webhook secret, created when absent (demo)."""
        merchant = await self.owner(api_key)
        if merchant is None:
            try:
                created = await self.create(name, api_key)
                return created.merchant, created.webhook_secret
            except DuplicateKeyError:  # a concurrent seed won the race
                merchant = await self.owner(api_key)
        if merchant is None:
            raise LookupError("the demo merchant vanished while being seeded")
        if merchant.webhook_secret_enc is None:  # seeded before merchants had webhook secrets
            merchant = await self._give_webhook_secret(merchant)
        assert merchant.webhook_secret_enc is not None
        return merchant, self.res.vault.decrypt(merchant.webhook_secret_enc, str(merchant.id))

    async def rotate_webhook_secret(
        self, merchant_id: str, grace_seconds: int | None = None
    ) -> RotatedSecret:
        """A new secret signs from now on; the one it replaces also signs for the grace
        period (the default is WEBHOOK_SECRET_GRACE_SECONDS)."""
        grace = self.res.settings.webhook_secret_grace_seconds
        grace = grace if grace_seconds is None else grace_seconds
        merchant = await self.res.db.merchants.get(merchant_id)
        if merchant is None:
            raise NotFoundError("Merchant not found.", code="merchant_not_found")
        if merchant.webhook_secret_enc is None:
            merchant = await self._give_webhook_secret(merchant)
        assert merchant.webhook_secret_enc is not None
        secret = new_secret()
        expires = utcnow() + timedelta(seconds=grace)
        encrypted = self.res.vault.encrypt(secret, merchant_id)
        if not await self.res.db.merchants.rotate_webhook_secret(
            merchant_id, merchant.secret_rotations, encrypted, merchant.webhook_secret_enc, expires
        ):
            raise ConflictError(
                "The secret was rotated by another request meanwhile; try again.",
                code="rotation_in_progress",
            )
        return RotatedSecret(secret=secret, previous_secret_expires_at=expires)

    async def _give_webhook_secret(self, merchant: Merchant) -> Merchant:
        """Stores a new secret unless one appeared meanwhile; returns the merchant as stored."""
        merchant_id = str(merchant.id)
        encrypted = self.res.vault.encrypt(new_secret(), merchant_id)
        await self.res.db.merchants.set_webhook_secret_if_missing(merchant_id, encrypted)
        stored = await self.res.db.merchants.get(merchant_id)
        if stored is None:
            raise LookupError(f"merchant {merchant_id} vanished")
        return stored
