"""Part leases (issuance_parts.claim_part) against the embedded Mongo-protocol server: a
lease is taken on the batch asked for, and never on another one whose lease would match."""

import secrets
from datetime import UTC, datetime

from beanie import init_beanie
from pymongo import AsyncMongoClient

from app.storage.models import BulkIssuance
from app.storage.models.issuance import PartClaim
from app.storage.repositories import IssuanceRepository
from app.storage.states import IssuanceMode, TaskStatus

NOW = 1_000_000


def _batch(resumes: int, **claims: PartClaim) -> BulkIssuance:
    return BulkIssuance(
        merchant_id="m" * 24,
        program_id="p" * 24,
        task_id=secrets.token_hex(12),
        is_async=True,
        mode=IssuanceMode.COUNT,
        status=TaskStatus.RUNNING,
        requested_count=300_000,
        initial_value=100,
        currency="USD",
        card_number_prefix="6",
        expires_at=datetime.now(UTC),
        created_at=datetime.now(UTC),
        resumes=resumes,
        part_claims=claims,
    )


async def test_a_lease_is_taken_on_its_own_batch_only(mongo):
    client: AsyncMongoClient = AsyncMongoClient(mongo.url)
    try:
        await init_beanie(
            database=client[f"leases_{secrets.token_hex(4)}"], document_models=[BulkIssuance]
        )
        batches = IssuanceRepository()
        for resumes in (0, 1):
            # another batch, part 1 held by a lane of the same name, and a lapsed lease on 2
            other = _batch(
                resumes,
                **{
                    "1": PartClaim(holder="main", until_ms=NOW + 5),
                    "2": PartClaim(holder="h1", until_ms=1),
                },
            )
            await other.insert()
            fresh = await _batch(resumes).insert()
            for part, lane in ((1, "main"), (2, "h2")):
                claimed = await batches.claim_part(
                    str(fresh.id), resumes, part, lane, NOW, NOW + 10_000
                )
                assert claimed is not None and claimed.id == fresh.id
                assert claimed.part_claims[str(part)] == PartClaim(
                    holder=lane, until_ms=NOW + 10_000
                )
            untouched = await BulkIssuance.get(other.id)
            assert untouched is not None and untouched.part_claims == other.part_claims

            # a live lease of another lane is not taken; a lapsed one is
            taken = await batches.claim_part(str(fresh.id), resumes, 1, "h3", NOW, NOW + 10_000)
            assert taken is None
            later = NOW + 20_000
            taken = await batches.claim_part(str(fresh.id), resumes, 1, "h3", later, later + 1)
            assert taken is not None and taken.part_claims["1"].holder == "h3"
    finally:
        await client.close()
