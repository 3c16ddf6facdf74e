"""Bulk issuance: inline for small batches (201), queued for the arq workers above the threshold."""

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import timedelta

from bson import ObjectId

from app.domain.cards.models import Card
from app.domain.fulfillment.configs import release_postfixes, reserve_postfixes
from app.domain.fulfillment.rules import check_physical
from app.domain.issuance import csv_export, request_keys
from app.domain.issuance.generation import CardFactory, insert_cards
from app.domain.issuance.models import BulkIssuance
from app.domain.issuance.schemas import (
    BulkIssuanceAsyncResponse,
    BulkIssuanceOut,
    BulkIssuanceSyncResponse,
    BulkIssuedCardSummary,
    BulkIssueGiftCardRequest,
)
from app.domain.programs.models import Program
from app.domain.programs.services import get_program
from app.lib import jobs
from app.lib.errors import NotFoundError, validation_error
from app.lib.money import format_minor, to_minor
from app.lib.pagination import newest_first_page
from app.lib.resources import Resources
from app.lib.types import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Accepted:
    response: BulkIssuanceAsyncResponse


class IssuanceService:
    def __init__(self, resources: Resources) -> None:
        self.res = resources

    async def bulk_issue(
        self,
        merchant_id: str,
        program_id: str,
        request: BulkIssueGiftCardRequest,
        idempotency_key: str | None = None,
    ) -> tuple[BulkIssuanceSyncResponse | Accepted, bool]:
        """The response, and whether it answers an earlier request with the same key."""
        program = await get_program(merchant_id, program_id)
        issuance = self._new_issuance(program, request)
        await check_physical(merchant_id, request)
        claim = None
        if idempotency_key:
            claim, earlier = await request_keys.claim(
                request_keys.key_id(merchant_id, idempotency_key),
                str(issuance.id),
                request_keys.fingerprint(program_id, request.model_dump_json()),
                self.res.settings.idempotency_ttl_seconds,
            )
            if earlier is not None:
                log.info("bulk issuance %s answered again for its key", earlier.id)
                return await self._answer_again(earlier), True
        if request.cardPersonalization and request.cardPersonalization.numericPostfix:
            start, end = await reserve_postfixes(issuance.program_id, issuance.requested_count)
            issuance.name_line1_start_index, issuance.name_line1_end_index = start, end
        try:
            if request.size <= program.sync_threshold:
                return await self._issue_inline(issuance), False
            return await self._accept(issuance), False
        except BaseException:
            with contextlib.suppress(Exception):
                await request_keys.release(claim)
            if issuance.name_line1_start_index is not None:
                with contextlib.suppress(Exception):
                    await release_postfixes(
                        issuance.program_id,
                        issuance.name_line1_start_index,
                        issuance.name_line1_end_index,
                    )
            raise

    def _new_issuance(self, program: Program, request: BulkIssueGiftCardRequest) -> BulkIssuance:
        try:
            minor = to_minor(request.initialValue, program.currency)
        except ValueError as exc:
            raise validation_error(
                ["body", "initialValue"], str(exc), input_=str(request.initialValue)
            ) from exc
        now = utcnow()
        issuance_id = ObjectId()
        is_async = request.size > program.sync_threshold
        recipients = (
            [r.model_dump(mode="json") for r in request.recipients] if request.recipients else None
        )
        return BulkIssuance(
            id=issuance_id,
            merchant_id=program.merchant_id,
            program_id=str(program.id),
            task_id=str(ObjectId()) if is_async else str(issuance_id),
            is_async=is_async,
            mode=request.mode,
            status="pending",
            requested_count=request.size,
            initial_value=minor,
            currency=program.currency,
            card_number_prefix=program.card_number_prefix,
            is_physical=request.isPhysical,
            design_template=request.designTemplate,
            shipping_config_id=request.shippingConfigId,
            personalization=(
                request.cardPersonalization.model_dump(mode="json")
                if request.cardPersonalization and request.isPhysical
                else None
            ),
            expires_at=request.expiresAt or now + timedelta(days=365),
            recipients=recipients,
            notifications_open=recipients is not None,
            callback_url=program.callback_url,
            callback={"status": "pending", "attempts": 0} if program.callback_url else None,
            created_at=now,
            started_at=None if is_async else now,
        )

    async def _issue_inline(self, issuance: BulkIssuance) -> BulkIssuanceSyncResponse:
        """All or nothing. The cards and their CSV are written side by side, the issuance last;
        on any failure whatever was written is removed."""
        length = self.res.settings.card_number_length
        factory = CardFactory(issuance, self.res.vault, length)
        built = [factory.build(seq) for seq in range(issuance.requested_count)]
        issuance.csv_key = csv_export.csv_key(issuance)
        try:
            results = await asyncio.gather(
                insert_cards(issuance, built, self.res.vault, length),
                csv_export.export_cards(self.res.store, issuance, built),
                return_exceptions=True,  # both finish before any clean-up starts
            )
            for result in results:
                if isinstance(result, BaseException):
                    raise result
            cards = sorted(results[0], key=lambda card: card.seq)
            if [c.number for c in cards] != [c.number for c in built]:  # a collision was redrawn
                await csv_export.export_cards(self.res.store, issuance, cards)
            issuance.issued_count = len(cards)
            issuance.status = "completed"
            issuance.completed_at = utcnow()
            await issuance.insert()
        except BaseException:
            await self._undo_inline(issuance)
            raise
        key = issuance.csv_key
        log.info("issued %d cards inline in bulk issuance %s", len(cards), issuance.id)
        if issuance.mode == "recipients":
            await self._queue_notifications([c.id for c in cards if c.document["notification"]])
        return BulkIssuanceSyncResponse(
            bulkIssuanceId=str(issuance.id),
            issuedCount=len(cards),
            cards=[
                BulkIssuedCardSummary(id=c.id, cardNumber=c.number, lastFourDigits=c.number[-4:])
                for c in cards
            ],
            csvDownloadUrl=self.res.store.presigned_get(key),
            failedCount=0,
        )

    async def _answer_again(self, issuance: BulkIssuance) -> BulkIssuanceSyncResponse | Accepted:
        """What the first request with this key answered (a queued one: its task)."""
        if issuance.is_async:
            return Accepted(BulkIssuanceAsyncResponse(taskId=issuance.task_id, status="pending"))
        found = Card.get_pymongo_collection().find(
            {"program_id": issuance.program_id, "bulk_issuance_id": str(issuance.id)},
            {"number_enc": 1},
        )
        summaries = []
        async for doc in found.sort("seq", 1):  # the cards' unique index gives this order
            card_id = str(doc["_id"])
            number = self.res.vault.decrypt(doc["number_enc"], card_id)
            summaries.append(
                BulkIssuedCardSummary(id=card_id, cardNumber=number, lastFourDigits=number[-4:])
            )
        return BulkIssuanceSyncResponse(
            bulkIssuanceId=str(issuance.id),
            issuedCount=len(summaries),
            cards=summaries,
            csvDownloadUrl=self.download_url(issuance),
            failedCount=0,
        )

    async def _undo_inline(self, issuance: BulkIssuance) -> None:
        with contextlib.suppress(Exception):
            await self.res.store.delete(issuance.csv_key)
        try:
            await Card.get_pymongo_collection().delete_many(
                {"program_id": issuance.program_id, "bulk_issuance_id": str(issuance.id)}
            )
            await BulkIssuance.get_pymongo_collection().delete_one({"_id": issuance.id})
        except Exception:  # the store is down too; a retry with the same key issues afresh
            log.warning("could not remove the partial inline issuance %s", issuance.id)

    async def _queue_notifications(self, card_ids: list[str]) -> None:
        """Cards exist already; if Redis fails here they stay `pending` for the sweeper."""
        try:
            await jobs.enqueue_notifications(self.res.redis, card_ids)
        except Exception:
            log.warning("could not queue %d notifications; left pending", len(card_ids))

    async def _accept(self, issuance: BulkIssuance) -> Accepted:
        issuance.current_job = jobs.advance_job_id(str(issuance.id), 0)
        issuance.queue = self.res.settings.queue_name
        issuance.heartbeat_ms = int(issuance.created_at.timestamp() * 1000)
        await issuance.insert()
        try:
            await jobs.enqueue_advance(self.res.redis, str(issuance.id), issuance.current_job)
        except BaseException:
            await BulkIssuance.get_pymongo_collection().delete_one({"_id": issuance.id})
            raise
        log.info("accepted bulk issuance %s of %d cards", issuance.id, issuance.requested_count)
        return Accepted(BulkIssuanceAsyncResponse(taskId=issuance.task_id, status="pending"))

    async def get(self, merchant_id: str, bulk_issuance_id: str) -> BulkIssuance:
        issuance = await BulkIssuance.find_one(
            {"_id": ObjectId(bulk_issuance_id), "merchant_id": merchant_id}
        )
        if issuance is None:
            raise NotFoundError("Bulk issuance not found.", code="bulk_issuance_not_found")
        return issuance

    async def get_by_task(self, merchant_id: str, task_id: str) -> BulkIssuance:
        issuance = await BulkIssuance.find_one(
            {"task_id": task_id, "merchant_id": merchant_id, "is_async": True}
        )
        if issuance is None:
            raise NotFoundError("Task not found.", code="task_not_found")
        return issuance

    async def list_for_program(
        self, merchant_id: str, program_id: str, limit: int, cursor: str | None
    ) -> tuple[list[BulkIssuance], str | None]:
        await get_program(merchant_id, program_id)
        query = {"merchant_id": merchant_id, "program_id": program_id}
        return await newest_first_page(BulkIssuance, query, limit, cursor)

    def download_url(self, issuance: BulkIssuance) -> str | None:
        if issuance.status != "completed" or not issuance.csv_key:
            return None
        return self.res.store.presigned_get(issuance.csv_key)

    def describe(self, issuance: BulkIssuance) -> BulkIssuanceOut:
        return BulkIssuanceOut(
            id=str(issuance.id),
            programId=issuance.program_id,
            taskId=issuance.task_id if issuance.is_async else None,
            mode=issuance.mode,
            status=issuance.status,
            requestedCount=issuance.requested_count,
            issuedCount=issuance.issued_count,
            failedCount=issuance.failed_count,
            progress=progress(issuance),
            initialValue=format_minor(issuance.initial_value, issuance.currency),
            currency=issuance.currency,
            isPhysical=issuance.is_physical,
            designTemplate=issuance.design_template,
            expiresAt=issuance.expires_at,
            csvDownloadUrl=self.download_url(issuance),
            error=issuance.error,
            createdAt=issuance.created_at,
            completedAt=issuance.completed_at,
            shippingConfigId=issuance.shipping_config_id,
            cardPersonalization=issuance.personalization,
            nameLine1StartIndex=issuance.name_line1_start_index,
            nameLine1EndIndex=issuance.name_line1_end_index,
        )


def progress(issuance: BulkIssuance) -> float:
    if issuance.status == "completed":
        return 1.0
    return round(issuance.issued_count / max(issuance.requested_count, 1), 4)
