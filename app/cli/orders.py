"""`orders resubmit ORDER_ID` and `orders cancel ORDER_ID`: an operator's way out for a FAILED
fulfillment order of any merchant (the same code as the merchant's API routes)."""

import argparse
import asyncio
import re
import sys
from collections.abc import Awaitable, Callable

from app.domain.fulfillment import recovery
from app.lib.errors import ApiError
from app.lib.settings import get_settings
from app.storage.models import FulfillmentOrder
from app.storage.resources import Resources

Action = Callable[[Resources, str, str | None], Awaitable[FulfillmentOrder]]


def _order_id(value: str) -> str:
    if not re.fullmatch(r"[0-9a-f]{24}", value):
        raise argparse.ArgumentTypeError(f"not an order id (24 lowercase hex): {value!r}")
    return value


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    orders = commands.add_parser("orders", help="recover FAILED fulfillment orders")
    actions = orders.add_subparsers(dest="action", required=True)
    resubmit = actions.add_parser("resubmit", help="send a FAILED order to the printer again")
    resubmit.add_argument("order_id", type=_order_id)
    resubmit.set_defaults(run=lambda args: _run(recovery.resubmit, args.order_id))
    cancel = actions.add_parser(
        "cancel", help="cancel a FAILED order: its cards go back to CREATED for the next cut"
    )
    cancel.add_argument("order_id", type=_order_id)
    cancel.set_defaults(run=lambda args: _run(recovery.cancel, args.order_id))


def _run(action: Action, order_id: str) -> None:
    try:
        order = asyncio.run(_act(action, order_id))
    except ApiError as exc:
        print(f"{exc.code}: {exc.detail}", file=sys.stderr)
        raise SystemExit(1) from None
    print(f"fulfillment order {order.id}: {order.status} ({order.card_count} cards)")


async def _act(action: Action, order_id: str) -> FulfillmentOrder:
    res = await Resources.open(get_settings())
    try:
        return await action(res, order_id, None)  # None: any merchant's order
    finally:
        await res.close()
