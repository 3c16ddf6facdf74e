import hashlib
import secrets
from dataclasses import dataclass

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from app.domain.merchants.models import Merchant
from app.domain.webhooks.signing import new_secret
from app.lib.card_numbers import CardVault


def hash_api_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def new_api_key() -> str:
    return "gk_" + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class NewMerchant:
    merchant: Merchant
    api_key: str  # shown once; only its hash is stored
    webhook_secret: str  # signs our callbacks; stored encrypted so we can sign with it


async def create_merchant(name: str, vault: CardVault, api_key: str | None = None) -> NewMerchant:
    key = api_key or new_api_key()
    secret = new_secret()
    merchant_id = ObjectId()
    merchant = Merchant(
        id=merchant_id,
        name=name,
        api_key_hash=hash_api_key(key),
        webhook_secret_enc=vault.encrypt(secret, str(merchant_id)),
    )
    await merchant.insert()
    return NewMerchant(merchant, key, secret)


async def ensure_merchant(name: str, api_key: str, vault: CardVault) -> tuple[Merchant, str]:
    """The merchant owning `api_key` and its webhook secret, created when absent (demo seed)."""
    merchant = await authenticate(api_key)
    if merchant is None:
        try:
            created = await create_merchant(name, vault, api_key)
            return created.merchant, created.webhook_secret
        except DuplicateKeyError:  # a concurrent seed won the race
            merchant = await authenticate(api_key)
    if merchant.webhook_secret_enc is None:  # seeded before merchants had webhook secrets
        merchant = await _give_webhook_secret(merchant, vault)
    return merchant, vault.decrypt(merchant.webhook_secret_enc, str(merchant.id))


async def _give_webhook_secret(merchant: Merchant, vault: CardVault) -> Merchant:
    """Stores a new secret unless one appeared meanwhile; returns the merchant as stored."""
    encrypted = vault.encrypt(new_secret(), str(merchant.id))
    await Merchant.get_pymongo_collection().update_one(
        {"_id": merchant.id, "webhook_secret_enc": None},
        {"$set": {"webhook_secret_enc": encrypted}},
    )
    return await Merchant.get(merchant.id)


async def authenticate(api_key: str) -> Merchant | None:
    return await Merchant.find_one(Merchant.api_key_hash == hash_api_key(api_key))
