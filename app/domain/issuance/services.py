"""Bulk issuance: inline for small batches (201), queued for the arq workers above the threshold."""

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bson import ObjectId

from app.domain.issuance import activation, csv_export, request_keys, tokens
from app.domain.issuance.generation import CardFactory, insert_cards
from app.domain.issuance.physical import check_physical, shipping_config_of
from app.domain.issuance.recipients import recipients_of
from app.domain.issuance.schemas import (
    BulkIssuanceAsyncResponse,
    BulkIssuanceOut,
    BulkIssuanceSyncResponse,
    BulkIssuedCardSummary,
    BulkIssueGiftCardRequest,
)
from app.domain.programs.services import ProgramService
from app.lib import jobs, metrics
from app.lib.errors import NotFoundError, validation_error
from app.lib.expiration import ExpirationOffset, default_expiry, earliest_expiry
from app.lib.money import to_minor
from app.lib.pagination import Page
from app.lib.types import utcnow
from app.storage.models import (
    BulkIssuance,
    CallbackState,
    Personalization,
    Program,
)
from app.storage.repositories import Repositories
from app.storage.resources import Resources
from app.storage.states import STOPPED_TASK, CardStatus, IssuanceMode, TaskStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Issued:
    """What a bulk request answers, and whether it answers an earlier request with its key."""

    result: BulkIssuanceSyncResponse | BulkIssuanceAsyncResponse  # 201 | 202
    replayed: bool = False


class IssuanceService:
    def __init__(self, resources: Resources) -> None:
        self.res = resources

    async def bulk_issue(
        self,
        merchant_id: str,
        program_id: str,
        request: BulkIssueGiftCardRequest,
        idempotency_key: str | None = None,
    ) -> Issued:
        db = self.res.db
        issuance_id = ObjectId()
        # the key's claim (a durable write) runs while the program is read and the request
        # checked; a request refused there drops the claim it made
        claiming = self._claim_key(merchant_id, program_id, issuance_id, request, idempotency_key)
        try:
            program = await ProgramService(self.res).get(merchant_id, program_id)
            issuance = self._new_issuance(program, request, issuance_id)
            issuance.shipping_config_id = shipping_config_of(program, request)
            await check_physical(db, merchant_id, request, issuance.shipping_config_id)
        except BaseException:
            await _drop_claim(db, claiming)
            raise
        claim, earlier = await claiming if claiming is not None else (None, None)
        if earlier is not None:
            log.info("bulk issuance %s answered again for its key", earlier.id)
            return Issued(await self._answer_again(earlier), replayed=True)
        token = await self._take_token(issuance, claim)
        looks = request.card_personalization
        if looks and looks.numeric_postfix:
            start, end = await db.postfix_counters.reserve(
                issuance.program_id, issuance.requested_count
            )
            issuance.name_line1_start_index, issuance.name_line1_end_index = start, end
        try:
            if request.size <= program.sync_threshold:
                issued = Issued(await self._issue_inline(issuance))
            else:
                issued = Issued(await self._accept(issuance))
        except BaseException:
            with contextlib.suppress(Exception):
                await request_keys.release(db, claim)
            with contextlib.suppress(Exception):
                await tokens.release(db, token)
            first, last = issuance.name_line1_start_index, issuance.name_line1_end_index
            if first is not None and last is not None:
                with contextlib.suppress(Exception):
                    await db.postfix_counters.release(issuance.program_id, first, last)
            raise
        await activation.schedule(self.res, issuance)
        return issued

    def _claim_key(
        self,
        merchant_id: str,
        program_id: str,
        issuance_id: ObjectId,
        request: BulkIssueGiftCardRequest,
        idempotency_key: str | None,
    ) -> "asyncio.Future[tuple[request_keys.Claim, BulkIssuance | None]] | None":
        if not idempotency_key:
            return None
        claiming = request_keys.claim(
            self.res.db,
            request_keys.key_id(merchant_id, idempotency_key),
            str(issuance_id),
            request_keys.fingerprint(program_id, request.model_dump_json()),
            self.res.settings.idempotency_days * 86_400,
        )
        return asyncio.ensure_future(claiming)

    async def _take_token(
        self, issuance: BulkIssuance, claim: request_keys.Claim | None
    ) -> tokens.TokenClaim | None:
        """The batch's token, before anything is written (409 `token_in_use`: nothing is)."""
        try:
            return await tokens.claim(
                self.res.db,
                issuance.merchant_id,
                issuance.token,
                str(issuance.id),
                claim.key_id if claim else None,
            )
        except BaseException:
            with contextlib.suppress(Exception):
                await request_keys.release(self.res.db, claim)
            raise

    def _new_issuance(
        self, program: Program, request: BulkIssueGiftCardRequest, issuance_id: ObjectId
    ) -> BulkIssuance:
        try:
            minor = to_minor(request.initial_value, program.currency)
        except ValueError as exc:
            raise validation_error(
                ["body", "initialValue"], str(exc), input_=str(request.initial_value)
            ) from exc
        now = utcnow()
        is_async = request.size > program.sync_threshold
        recipients = recipients_of(program, request)
        looks = request.card_personalization
        expires_at, offset = _expiry(request, program, now)
        activates_at = _activation(request, program, now, expires_at)
        return BulkIssuance(
            id=issuance_id,
            merchant_id=program.merchant_id,
            program_id=str(program.id),
            task_id=str(ObjectId()) if is_async else str(issuance_id),
            is_async=is_async,
            mode=request.mode,
            status=TaskStatus.PENDING,
            requested_count=request.size,
            initial_value=minor,
            currency=program.currency,
            card_number_prefix=program.card_number_prefix,
            is_physical=request.is_physical,
            design_template=request.design_template,
            shipping_config_id=request.shipping_config_id,
            personalization=(
                Personalization.model_validate(looks.model_dump())
                if looks and request.is_physical
                else None
            ),
            expires_at=expires_at,
            expiration_offset=offset,
            activates_at=activates_at,
            activates_ms=None if activates_at is None else int(activates_at.timestamp() * 1000),
            card_status=CardStatus.ACTIVE if activates_at is None else CardStatus.SCHEDULED,
            token=request.token,
            recipients=recipients,
            notification_channels=program.notification_channels,
            notifications_open=recipients is not None,
            queue=self.res.settings.queue_name,  # whose sweep sends its notifications
            callback_url=program.callback_url,
            callback=CallbackState() if program.callback_url else None,
            created_at=now,
            started_at=None if is_async else now,
        )

    async def _issue_inline(self, issuance: BulkIssuance) -> BulkIssuanceSyncResponse:
        """All or nothing. The cards and their CSV are written side by side, the issuance last;
        on any failure whatever was written is removed."""
        factory = CardFactory(issuance, self.res.vault, self.res.settings.card_number_length)
        built = factory.build_many(range(issuance.requested_count))
        issuance.csv_key = csv_export.csv_key(issuance)
        try:
            results = await asyncio.gather(
                insert_cards(self.res.db.cards, factory, built),
                csv_export.export_cards(self.res.store, issuance, built),
                return_exceptions=True,  # both finish before any clean-up starts
            )
            inserted, _ = results
            for result in results:
                if isinstance(result, BaseException):
                    raise result
            assert isinstance(inserted, list)
            cards = sorted(inserted, key=lambda card: card.seq)
            if [c.number for c in cards] != [c.number for c in built]:  # a collision was redrawn
                await csv_export.export_cards(self.res.store, issuance, cards)
            issuance.issued_count = len(cards)
            issuance.status = TaskStatus.COMPLETED
            issuance.completed_at = utcnow()
            await self.res.db.issuances.insert(issuance)
        except BaseException:
            await self._undo_inline(issuance)
            raise
        log.info("issued %d cards inline in bulk issuance %s", len(cards), issuance.id)
        metrics.CARDS_ISSUED.labels("inline").inc(len(cards))
        if issuance.mode == IssuanceMode.RECIPIENTS:
            await self._queue_notifications([c.id for c in cards if factory.notifications[c.seq]])
        summaries = [BulkIssuedCardSummary.from_number(c.id, c.number) for c in cards]
        return BulkIssuanceSyncResponse.from_cards(
            issuance, summaries, self.res.store.presigned_get(issuance.csv_key)
        )

    async def _answer_again(
        self, issuance: BulkIssuance
    ) -> BulkIssuanceSyncResponse | BulkIssuanceAsyncResponse:
        """What the first request with this key answered (a queued one: its task)."""
        if issuance.is_async:
            return BulkIssuanceAsyncResponse.from_issuance(issuance)
        found = self.res.db.cards.encrypted(issuance.program_id, str(issuance.id))
        vault = self.res.vault
        summaries = [
            BulkIssuedCardSummary.from_number(card.id, vault.decrypt(card.number_enc, card.id))
            async for card in found
        ]
        return BulkIssuanceSyncResponse.from_cards(issuance, summaries, self.download_url(issuance))

    async def _undo_inline(self, issuance: BulkIssuance) -> None:
        if issuance.csv_key:
            with contextlib.suppress(Exception):
                await self.res.store.delete(issuance.csv_key)
        try:
            await self.res.db.cards.delete_batch(issuance.program_id, str(issuance.id))
            await self.res.db.issuances.delete(str(issuance.id))
        except Exception:  # the store is down too; a retry with the same key issues afresh
            log.warning("could not remove the partial inline issuance %s", issuance.id)

    async def _queue_notifications(self, card_ids: list[str]) -> None:
        """Cards exist already; if Redis fails here they stay `pending` for the sweeper."""
        try:
            await jobs.enqueue_notifications(self.res.redis, card_ids)
        except Exception:
            log.warning("could not queue %d notifications; left pending", len(card_ids))

    async def _accept(self, issuance: BulkIssuance) -> BulkIssuanceAsyncResponse:
        issuance.current_job = jobs.advance_job_id(str(issuance.id), 0)
        issuance.queue = self.res.settings.queue_name
        issuance.heartbeat_ms = int(issuance.created_at.timestamp() * 1000)
        await self.res.db.issuances.insert(issuance)
        try:
            await jobs.enqueue_advance(self.res.redis, str(issuance.id), issuance.current_job)
        except BaseException:
            await self.res.db.issuances.delete(str(issuance.id))
            raise
        log.info("accepted bulk issuance %s of %d cards", issuance.id, issuance.requested_count)
        return BulkIssuanceAsyncResponse.from_issuance(issuance)

    async def get(self, merchant_id: str, reference: str) -> BulkIssuanceOut:
        """By its id or its token."""
        issuance = await self.res.db.issuances.by_reference(merchant_id, reference)
        if issuance is None:
            raise NotFoundError("Bulk issuance not found.", code="bulk_issuance_not_found")
        return BulkIssuanceOut.from_issuance(issuance, self.download_url(issuance))

    async def page(
        self,
        merchant_id: str,
        program_id: str,
        limit: int,
        cursor: str | None,
        token: str | None = None,
    ) -> Page[BulkIssuanceOut]:
        await ProgramService(self.res).get(merchant_id, program_id)
        found, nxt = await self.res.db.issuances.page_for_program(
            merchant_id, program_id, limit, cursor, token
        )
        data = [BulkIssuanceOut.from_issuance(i, self.download_url(i)) for i in found]
        return Page[BulkIssuanceOut](data=data, next_cursor=nxt)

    def download_url(self, issuance: BulkIssuance) -> str | None:
        """A completed batch's CSV; a failed or cancelled one's (the cards it issued) once it
        is written; the latest fresh export's, once there is one (POST .../export)."""
        key = None
        if issuance.status == TaskStatus.COMPLETED:
            key = issuance.export_key or issuance.csv_key
        elif issuance.status in STOPPED_TASK:
            key = issuance.export_key or issuance.failed_csv_key
        return self.res.store.presigned_get(key) if key else None


def _expiry(
    request: BulkIssueGiftCardRequest, program: Program, accepted: datetime
) -> tuple[datetime, ExpirationOffset | None]:
    """The batch's one expiry, fixed when it is accepted (a resumed run keeps it): expiresAt,
    else the request's expirationOffset, else the program's, else a year (or the program's
    minimumExpiryDays when later). Sooner than that minimum is a 422 at the field asked for."""
    floor = earliest_expiry(accepted, program.minimum_expiry_days)
    if request.expires_at is not None:
        _not_before(floor, request.expires_at, "expiresAt", request.expires_at.isoformat())
        return request.expires_at, None
    offset = request.expiration_offset or program.expiration_offset
    if offset is None:
        return default_expiry(accepted, program.minimum_expiry_days), None
    expiry = offset.expiry_from(accepted)
    _not_before(floor, expiry, "expirationOffset", offset.model_dump(mode="json", by_alias=True))
    return expiry, offset


def _activation(
    request: BulkIssueGiftCardRequest, program: Program, accepted: datetime, expiry: datetime
) -> datetime | None:
    """activatesAt, else the program's activationOffset from acceptance, else None (at once);
    it must come before the expiry (422 at activatesAt)."""
    if request.activates_at is not None:
        at = request.activates_at
    elif program.activation_offset is not None:
        at = program.activation_offset.activation_from(accepted)
    else:
        return None
    if at >= expiry:
        raise validation_error(
            ["body", "activatesAt"],
            "the cards would activate only after they expire",
            input_=at.isoformat(),
        )
    return at


def _not_before(floor: datetime | None, expiry: datetime, field: str, given: Any) -> None:
    if floor is not None and expiry < floor:
        raise validation_error(
            ["body", field],
            f"the cards would expire sooner than the program's minimumExpiryDays allow "
            f"(not before {floor.isoformat()})",
            input_=given,
        )


async def _drop_claim(
    db: Repositories,
    claiming: "asyncio.Future[tuple[request_keys.Claim, BulkIssuance | None]] | None",
) -> None:
    """A request refused before its key's claim was used: the claim it made is dropped (not
    an earlier request's, which it would have answered with)."""
    if claiming is None:
        return
    with contextlib.suppress(Exception):
        claim, earlier = await claiming
        if earlier is None:
            await request_keys.release(db, claim)
