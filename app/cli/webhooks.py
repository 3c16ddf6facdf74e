"""`webhooks list --merchant ID [--state S]` and `webhooks redeliver DELIVERY_ID`: the outbox
of callbacks and webhooks, for operators (any merchant's)."""

import argparse
import asyncio

from app.domain.webhooks.schemas import WebhookDeliveryOut
from app.domain.webhooks.services import WebhookDeliveryService
from app.lib.errors import ApiError, RequestValidationError
from app.lib.settings import get_settings
from app.storage.resources import Resources
from app.storage.states import DeliveryStatus


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    webhooks = commands.add_parser("webhooks", help="webhook and callback deliveries")
    actions = webhooks.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="a merchant's deliveries, newest first")
    listing.add_argument("--merchant", required=True, help="the merchant id")
    listing.add_argument("--state", choices=[s.value for s in DeliveryStatus])
    listing.add_argument("--limit", type=int, default=100, help="at most this many (1-1000)")
    listing.set_defaults(run=lambda args: asyncio.run(_list(args.merchant, args.state, args.limit)))
    again = actions.add_parser("redeliver", help="send a delivery again now (same event id)")
    again.add_argument("delivery_id")
    again.set_defaults(run=lambda args: asyncio.run(_redeliver(args.delivery_id)))


def _line(delivery: WebhookDeliveryOut) -> str:
    when = delivery.next_attempt_at or delivery.delivered_at or delivery.created_at
    error = f"  {delivery.last_error}" if delivery.last_error else ""
    return (
        f"{delivery.id}  {delivery.state:<9}  {delivery.attempts:>3}  "
        f"{when.isoformat(timespec='seconds')}  {delivery.type}  {delivery.event_id}"
        f"  {delivery.url}{error}"
    )


async def _list(merchant_id: str, state: str | None, limit: int) -> None:
    res = await Resources.open(get_settings())
    try:
        page = await WebhookDeliveryService(res).page(
            merchant_id, state, max(1, min(limit, 1000)), None
        )
    finally:
        await res.close()
    print("id                        state      tries  when (next/delivered/created)  type  event")
    for delivery in page.data:
        print(_line(delivery))
    if page.next_cursor:
        print("... more: raise --limit (at most 1000), or list with --state")


async def _redeliver(delivery_id: str) -> None:
    res = await Resources.open(get_settings())
    try:
        again = await WebhookDeliveryService(res).redeliver(None, delivery_id)
    except (ApiError, RequestValidationError) as exc:
        raise SystemExit(f"webhooks redeliver: {exc}") from exc
    finally:
        await res.close()
    print(f"redelivering {again.event_id} to {again.url}: {again.state}, due now")
