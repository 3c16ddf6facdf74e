"""The durable half of Idempotency-Key for bulk issuance: which issuance a key produced.

Redis holds the replayable responses (app/lib/idempotency.py), but Redis can lose a record: it
restarted empty, or it failed just as the first response was being stored. A retry would then
issue a second batch. So a bulk request with a key also claims the key in MongoDB (its `_id`
is unique) before anything is written, naming the issuance it is about to create; a retry that
finds the claim answers with that issuance instead of issuing again. A claim whose issuance
does not exist (the first attempt failed and was undone, or died) is taken over.

The claim lives IDEMPOTENCY_DAYS (90), the Redis record a day: after that the claim alone
answers a replay, rebuilt from the batch (an inline batch's card numbers decrypted from the
vault, never stored anywhere else).
"""

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from app.lib.errors import ApiError
from app.storage.models import BulkIssuance, RequestKey
from app.storage.repositories import Repositories


@dataclass(frozen=True)
class Claim:
    key_id: str
    issuance_id: str


def key_id(merchant_id: str, idempotency_key: str) -> str:
    return hashlib.sha256(f"{merchant_id}:{idempotency_key}".encode()).hexdigest()


def fingerprint(program_id: str, body_json: str) -> str:
    return hashlib.sha256(f"{program_id}\n{body_json}".encode()).hexdigest()


async def claim(
    db: Repositories, key: str, issuance_id: str, print_: str, ttl_seconds: int
) -> tuple[Claim, BulkIssuance | None]:
    """Claims `key` for `issuance_id`; returns the claim and, when an earlier request with this
    key already produced an issuance, that issuance (answer with it, issue nothing)."""
    now = datetime.now(UTC)
    expires_at = now + timedelta(seconds=ttl_seconds)
    record = RequestKey(id=key, issuance_id=issuance_id, fingerprint=print_, expires_at=expires_at)
    if await db.request_keys.insert_if_new(record):
        return Claim(key, issuance_id), None
    earlier = await db.request_keys.get(key)
    if earlier is not None and earlier.expires_at > now:  # the client is tz-aware
        if earlier.fingerprint != print_:
            raise ApiError(
                "This Idempotency-Key was used with a different request.",
                code="idempotency_key_reused",
                status_code=422,
            )
        done = await db.issuances.get(earlier.issuance_id)
        if done is not None:
            return Claim(key, earlier.issuance_id), done
    # expired, or its issuance was never written: take the claim over
    await db.request_keys.replace(record)
    return Claim(key, issuance_id), None


async def release(db: Repositories, claim_: Claim | None) -> None:
    """Drops a claim whose issuance was undone, so a retry starts afresh."""
    if claim_ is not None:
        await db.request_keys.release(claim_.key_id, claim_.issuance_id)
