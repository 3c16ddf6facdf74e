"""A bulk issuance's `token` (Marqeta's): the client's own reference, unique per merchant.

The token is claimed in its own collection, whose `_id` (merchant id + token) is the unique
index, before anything is issued or queued: of two requests with the same token exactly one
inserts the claim, the other is a 409 `token_in_use` with nothing written. A claim is
released when its issuance is undone. A claim whose issuance never came to exist (its
request died half-way) is taken over by a retry with the same Idempotency-Key at once, by
anyone once it is old enough that no request can still be issuing under it.
"""

from dataclasses import dataclass

from app.lib.errors import ConflictError
from app.lib.types import now_ms
from app.storage.models import IssuanceToken
from app.storage.repositories import Repositories
from app.storage.repositories.issuance_tokens import token_id

# an inline batch is written within seconds; a queued one's issuance exists before its 202
ABANDONED_AFTER_MS = 15 * 60 * 1000
_ATTEMPTS = 3  # a claim released or moved between our insert and our read: look again


@dataclass(frozen=True)
class TokenClaim:
    merchant_id: str
    token: str
    issuance_id: str


async def claim(
    db: Repositories,
    merchant_id: str,
    token: str | None,
    issuance_id: str,
    request_key: str | None,
) -> TokenClaim | None:
    """Claims `token` for `issuance_id` (None: the batch has no token), else 409."""
    if token is None:
        return None
    record = IssuanceToken(
        id=token_id(merchant_id, token),
        merchant_id=merchant_id,
        token=token,
        issuance_id=issuance_id,
        request_key=request_key,
        claimed_ms=now_ms(),
    )
    for _ in range(_ATTEMPTS):
        if await db.issuance_tokens.insert_if_new(record):
            return TokenClaim(merchant_id, token, issuance_id)
        held = await db.issuance_tokens.get(merchant_id, token)
        if held is None:
            continue
        if not await _abandoned(db, held, request_key):
            break
        if await db.issuance_tokens.take_over(held, record):
            return TokenClaim(merchant_id, token, issuance_id)
    raise ConflictError(
        "This token is already used by another bulk issuance of yours.", code="token_in_use"
    )


async def _abandoned(db: Repositories, held: IssuanceToken, request_key: str | None) -> bool:
    if await db.issuances.get(held.issuance_id) is not None:
        return False
    if request_key is not None and held.request_key == request_key:
        return True  # the same request retried (the Idempotency-Key claim keeps it to one)
    return now_ms() - held.claimed_ms > ABANDONED_AFTER_MS


async def release(db: Repositories, claim_: TokenClaim | None) -> None:
    """Frees the token of an issuance that was undone."""
    if claim_ is not None:
        await db.issuance_tokens.release(claim_.merchant_id, claim_.token, claim_.issuance_id)
