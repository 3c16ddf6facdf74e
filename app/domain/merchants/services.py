import hashlib
import secrets

from pymongo.errors import DuplicateKeyError

from app.domain.merchants.models import Merchant


def hash_api_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def new_api_key() -> str:
    return "gk_" + secrets.token_urlsafe(32)


async def create_merchant(name: str, api_key: str | None = None) -> tuple[Merchant, str]:
    """Creates a merchant; the key is returned once and only its hash is stored."""
    key = api_key or new_api_key()
    merchant = Merchant(name=name, api_key_hash=hash_api_key(key))
    await merchant.insert()
    return merchant, key


async def ensure_merchant(name: str, api_key: str) -> Merchant:
    """The merchant owning `api_key`, created when absent (for the demo seed)."""
    existing = await authenticate(api_key)
    if existing:
        return existing
    try:
        merchant, _ = await create_merchant(name, api_key)
    except DuplicateKeyError:  # a concurrent seed won the race
        merchant = await authenticate(api_key)
    return merchant


async def authenticate(api_key: str) -> Merchant | None:
    return await Merchant.find_one(Merchant.api_key_hash == hash_api_key(api_key))
