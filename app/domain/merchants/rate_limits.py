"""A merchant's own rate limit (the `rate_limit` field, set with the CLI), read by the rate-limit
middleware (app/lib/rate_limits.py) once a minute per process at most."""

from bson import ObjectId
from litestar.datastructures import State

from app.lib.errors import ApiError, NotFoundError
from app.lib.rate_limits import parse_limit
from app.storage.resources import Resources


async def merchant_rate_limit(state: State, merchant_id: str) -> str | None:
    """The merchant's limit, or None for RATE_LIMIT_PER_MERCHANT."""
    resources: Resources = state.resources
    cache = resources.caches.merchant_rate_limits
    cached = cache.get(merchant_id)
    if cached is None:
        cached = await resources.db.merchants.rate_limit(merchant_id) or ""
        cache.put(merchant_id, cached)
    return cached or None


async def set_merchant_rate_limit(resources: Resources, merchant_id: str, limit: str) -> str | None:
    """Stores `limit` ("1200/minute"; "default" clears it); returns what is stored now."""
    stored = None if limit == "default" else limit
    if stored is not None:
        try:
            parse_limit(stored)
        except ValueError:
            raise ApiError(
                f"{stored!r} is not a rate limit: write it like 1200/minute or 20/second.",
                code="invalid_rate_limit",
                status_code=422,
            ) from None
    found = ObjectId.is_valid(merchant_id) and await resources.db.merchants.set_rate_limit(
        merchant_id, stored
    )
    if not found:
        raise NotFoundError(f"No merchant {merchant_id}.")
    return stored
