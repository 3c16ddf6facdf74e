"""The webhook outbox: every callback and webhook is a row in `webhook_deliveries` before it is
sent, and the workers send it from there, so a Redis that loses its jobs loses no event.

- `record` writes the row (once per event id: a step that runs again adds nothing) and queues
  a prompt job for the first attempt; a row held back (`hold_ms`) waits for `release`.
- The cron (`deliver_due`) and the prompt or retry jobs (`deliver_one`) claim a row the same
  way, with a lease, so no two workers send it at once.
- An attempt renders the event (its `Source`), POSTs it (`delivery.send_event`) and records
  the outcome: `delivered`; or, on any failure, a retry at the schedule's next time
  (app/lib/backoff.py) and `failed` past the span; a 410 fails the delivery at once and
  every other pending delivery of the merchant to that URL ("endpoint gone").
- `redeliver` makes any delivery pending and due now, on a fresh schedule, same event id.
"""

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from app.domain.webhooks.delivery import send_event
from app.lib import backoff, jobs, metrics
from app.lib.settings import Settings
from app.lib.types import iso_z, now_ms, utcnow
from app.lib.url_safety import UnsafeUrl
from app.storage.models import MovedCards, WebhookDelivery
from app.storage.resources import Resources
from app.storage.states import DeliveryStatus, EventType

log = logging.getLogger(__name__)
LANES = 8  # deliveries one cron run sends at once
GONE = 410


@dataclass(frozen=True)
class Rendered:
    """What an attempt sends (`data`) and what the row keeps of it (`stored`; None: as is)."""

    type: EventType
    data: dict[str, Any]
    stored: dict[str, Any] | None = None


Render = Callable[[Resources, WebhookDelivery], Awaitable[Rendered | None]]
Observe = Callable[[Resources, WebhookDelivery], Awaitable[None]]


@dataclass(frozen=True)
class Source:
    """How one kind of event is sent and shown. `render`: what to send now, None while the
    change it announces is not visible yet (LookupError: its subject is gone); without one
    the stored data goes out. `observe`: mirrors the delivery where the API shows it."""

    render: Render | None = None
    observe: Observe | None = None


Sources = Mapping[EventType, Source]


def delivered_at(delivery: WebhookDelivery) -> str | None:
    """When it was delivered, as the API shows times (ISO 8601 UTC, `Z`)."""
    if delivery.delivered_ms is None:
        return None
    return iso_z(datetime.fromtimestamp(delivery.delivered_ms / 1000, UTC))


def lease_ms(settings: Settings) -> int:
    """How long a claimed delivery is a worker's: far longer than an attempt takes (a send
    is a few phases of at most WEBHOOK_TIMEOUT_SECONDS each)."""
    return int((4 * settings.webhook_timeout_seconds + 30) * 1000)


def new_delivery(
    res: Resources,
    *,
    event_id: str,
    event_type: EventType,
    merchant_id: str,
    program_id: str,
    url: str,
    subject: str,
    data: dict[str, Any],
    moved_cards: MovedCards | None = None,
    round_: int = 1,
    hold_ms: int = 0,
) -> WebhookDelivery:
    """A pending delivery, due now (or after `hold_ms`), retried for the span from now."""
    now, created = now_ms(), utcnow()
    return WebhookDelivery(
        event_id=event_id,
        merchant_id=merchant_id,
        program_id=program_id,
        type=event_type,
        url=url,
        subject=subject,
        round=round_,
        data=data,
        moved_cards=moved_cards,
        queue=res.settings.queue_name,
        next_attempt_ms=now + hold_ms,
        retry_until_ms=now + int(res.settings.webhook_retry_span_seconds * 1000),
        created_ms=now,
        created_at=created,
    )


async def record(res: Resources, delivery: WebhookDelivery) -> WebhookDelivery:
    """Stores the delivery unless its event to its URL has one already (then returns that
    one), and queues its first attempt when it is due now."""
    repo = res.db.webhook_deliveries
    stored = delivery
    if not await repo.insert_if_new(delivery):
        stored = await repo.of_event(delivery.event_id, delivery.url) or delivery
    if stored.state == DeliveryStatus.PENDING and stored.next_attempt_ms <= now_ms():
        await queue_attempt(res, stored)
    return stored


async def release(res: Resources, delivery: WebhookDelivery) -> None:
    """A held delivery is due now: the change it announces is made."""
    now = now_ms()
    await res.db.webhook_deliveries.make_due(str(delivery.id), now)
    delivery.next_attempt_ms = min(delivery.next_attempt_ms, now)
    await queue_attempt(res, delivery)


async def queue_attempt(res: Resources, delivery: WebhookDelivery) -> None:
    """A job for the delivery's next attempt; best effort: without it the cron sends it."""
    try:
        await jobs.enqueue_webhook(res.redis, str(delivery.id), delivery.next_attempt_ms, now_ms())
    except Exception as exc:
        log.warning("delivery %s left to the cron: %s", delivery.id, type(exc).__name__)


async def redeliver(res: Resources, delivery_id: str) -> WebhookDelivery | None:
    """Pending and due now, on a fresh schedule; sent again with the same event id."""
    now = now_ms()
    span_ms = int(res.settings.webhook_retry_span_seconds * 1000)
    again = await res.db.webhook_deliveries.redeliver(
        delivery_id, res.settings.queue_name, now, now + span_ms
    )
    if again is not None:
        log.info("delivery %s (%s) redelivered", delivery_id, again.event_id)
        await queue_attempt(res, again)
    return again


async def deliver_one(res: Resources, sources: Sources, delivery_id: str) -> bool:
    """Attempts the delivery if it is due and no one else holds it; False when not."""
    now = now_ms()
    claimed = await res.db.webhook_deliveries.claim(delivery_id, now, now + lease_ms(res.settings))
    if claimed is None:
        return False
    await Sender(res, sources).attempt(claimed)
    return True


async def deliver_due(res: Resources, sources: Sources, budget_seconds: float) -> int:
    """Attempts the queue's due deliveries, LANES at a time, claiming new ones for
    `budget_seconds`; returns how many it attempted."""
    sender = Sender(res, sources)
    deadline = time.monotonic() + budget_seconds
    attempted = 0

    async def lane() -> None:
        nonlocal attempted
        while time.monotonic() < deadline:
            now = now_ms()
            claimed = await res.db.webhook_deliveries.claim_due(
                res.settings.queue_name, now, now + lease_ms(res.settings)
            )
            if claimed is None:
                return
            attempted += 1
            try:
                await sender.attempt(claimed)
            except Exception:  # its lease runs out and it is tried again; the others go on
                log.exception("delivery %s: attempt not recorded", claimed.id)

    # no lane is ever cancelled (a TaskGroup would cancel all when one fails): a PyMongo
    # call cancelled while it waits for a server can leave the client stuck
    ended = await asyncio.gather(*(lane() for _ in range(LANES)), return_exceptions=True)
    for error in ended:
        if isinstance(error, BaseException):
            raise error
    return attempted


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str | None  # None: delivered


class Sender:
    """One attempt of a claimed delivery, and what follows from its outcome."""

    def __init__(self, res: Resources, sources: Sources) -> None:
        self.res = res
        self.sources = sources
        self.repo = res.db.webhook_deliveries

    async def attempt(self, delivery: WebhookDelivery) -> None:
        source = self.sources.get(delivery.type, Source())
        try:
            rendered = await self._render(source, delivery)
        except LookupError as exc:  # what it announces is gone: nothing will ever be sent
            done = await self.repo.mark_attempt_failed(delivery, str(exc), None, None, False)
            await self._observe(done)
            return
        if rendered is None:
            later = now_ms() + int(self.res.settings.webhook_retry_base_seconds * 1000)
            await self.repo.postpone(delivery, later)
            return
        outcome = await self._send(delivery, rendered)
        await self._observe(await self._record(delivery, outcome))

    async def _render(self, source: Source, delivery: WebhookDelivery) -> Rendered | None:
        if source.render is None:
            return Rendered(delivery.type, delivery.data)
        rendered = await source.render(self.res, delivery)
        if rendered is not None and (rendered.type != delivery.type or rendered.stored):
            await self.repo.set_content(delivery, rendered.type, rendered.stored or delivery.data)
            delivery.type = rendered.type
        return rendered

    async def _send(self, delivery: WebhookDelivery, rendered: Rendered) -> Outcome:
        try:  # bounded by WEBHOOK_TIMEOUT_SECONDS per phase (connect, write, read)
            response = await send_event(
                self.res,
                delivery.merchant_id,
                delivery.url,
                delivery.event_id,
                rendered.type,
                rendered.data,
            )
        except httpx.HTTPStatusError as exc:
            answer = exc.response
            return Outcome(answer.status_code, f"HTTP {answer.status_code} {answer.reason_phrase}")
        except (httpx.HTTPError, UnsafeUrl, LookupError) as exc:
            return Outcome(None, f"{type(exc).__name__}: {exc}".rstrip(": "))
        return Outcome(response.status_code, None)

    async def _record(self, delivery: WebhookDelivery, outcome: Outcome) -> WebhookDelivery | None:
        what = f"{delivery.type} {delivery.event_id} (delivery {delivery.id})"
        if outcome.error is None:
            log.info("%s delivered", what)
            metrics.WEBHOOK_DELIVERIES.labels("delivered").inc()
            return await self.repo.mark_delivered(delivery, outcome.status_code or 200, now_ms())
        if outcome.status_code == GONE:
            log.warning("%s: the endpoint is gone (410)", what)
            metrics.WEBHOOK_DELIVERIES.labels("gone").inc()
            error = f"{outcome.error}: the endpoint is gone, not retried"
            done = await self.repo.mark_attempt_failed(delivery, error, GONE, None)
            await self._fail_others_to(delivery)
            return done
        settings = self.res.settings
        retry_at = backoff.next_attempt_ms(
            now_ms(),
            delivery.attempts + 1,
            delivery.retry_until_ms,
            settings.webhook_retry_base_seconds,
            settings.webhook_retry_max_delay_seconds,
            random.random(),
        )
        done = await self.repo.mark_attempt_failed(
            delivery, outcome.error, outcome.status_code, retry_at
        )
        log.warning("%s failed (%s), %s", what, outcome.error, "retried" if retry_at else "failed")
        metrics.WEBHOOK_DELIVERIES.labels("retrying" if retry_at else "failed").inc()
        if done is not None and retry_at is not None:
            await queue_attempt(self.res, done)
        return done

    async def _fail_others_to(self, gone: WebhookDelivery) -> None:
        """The 410 rule: the merchant's other pending deliveries to that URL are failed too."""
        error = f"the endpoint is gone: it answered 410 to {gone.event_id}"
        for other in await self.repo.pending_to_url(gone.merchant_id, gone.url):
            await self._observe(await self.repo.fail_pending(other, error))

    async def _observe(self, delivery: WebhookDelivery | None) -> None:
        if delivery is None:  # the lease was lost (redelivered meanwhile): a newer story
            return
        source = self.sources.get(delivery.type)
        if source is not None and source.observe is not None:
            await source.observe(self.res, delivery)
