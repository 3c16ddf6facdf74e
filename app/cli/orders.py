"""`orders resubmit ORDER_ID` and `orders cancel ORDER_ID`: an operator's way out for a FAILED
fulfillment order of any merchant (the same code as the merchant's API routes)."""

from collections.abc import Awaitable, Callable

import click

from app.cli.common import OBJECT_ID, run
from app.domain.fulfillment import recovery
from app.storage.models import FulfillmentOrder
from app.storage.resources import Resources

Action = Callable[[Resources, str, str | None], Awaitable[FulfillmentOrder]]


@click.group("orders")
def orders() -> None:
    """Recover FAILED fulfillment orders."""


@orders.command("resubmit")
@click.argument("order_id", type=OBJECT_ID)
def resubmit(order_id: str) -> None:
    """Send a FAILED order to the printer again."""
    _act(recovery.resubmit, order_id)


@orders.command("cancel")
@click.argument("order_id", type=OBJECT_ID)
def cancel(order_id: str) -> None:
    """Cancel a FAILED order: its cards go back to CREATED for the next cut."""
    _act(recovery.cancel, order_id)


def _act(action: Action, order_id: str) -> None:
    order = run(lambda res: action(res, order_id, None))  # None: any merchant's order
    click.echo(f"fulfillment order {order.id}: {order.status} ({order.card_count} cards)")


COMMANDS = (orders,)
