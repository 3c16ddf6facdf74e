"""`webhooks list --merchant ID [--state S]` and `webhooks redeliver DELIVERY_ID`: the outbox
of callbacks and webhooks, for operators (any merchant's)."""

import click

from app.cli.common import run
from app.domain.webhooks.schemas import WebhookDeliveryOut
from app.domain.webhooks.services import WebhookDeliveryService
from app.storage.states import DeliveryStatus


@click.group("webhooks")
def webhooks() -> None:
    """Webhook and callback deliveries."""


@webhooks.command("list")
@click.option("--merchant", "merchant_id", required=True, help="the merchant id")
@click.option("--state", type=click.Choice([s.value for s in DeliveryStatus]))
@click.option(
    "--limit", type=int, default=100, show_default=True, help="at most this many (1-1000)"
)
def list_deliveries(merchant_id: str, state: str | None, limit: int) -> None:
    """A merchant's deliveries, newest first."""
    page = run(
        lambda res: WebhookDeliveryService(res).page(
            merchant_id, state, max(1, min(limit, 1000)), None
        )
    )
    click.echo(
        "id                        state      tries  when (next/delivered/created)  type  event"
    )
    for delivery in page.data:
        click.echo(_line(delivery))
    if page.next_cursor:
        click.echo("... more: raise --limit (at most 1000), or list with --state")


@webhooks.command("redeliver")
@click.argument("delivery_id")
def redeliver(delivery_id: str) -> None:
    """Send a delivery again now (same event id)."""
    again = run(lambda res: WebhookDeliveryService(res).redeliver(None, delivery_id))
    click.echo(f"redelivering {again.event_id} to {again.url}: {again.state}, due now")


def _line(delivery: WebhookDeliveryOut) -> str:
    when = delivery.next_attempt_at or delivery.delivered_at or delivery.created_at
    error = f"  {delivery.last_error}" if delivery.last_error else ""
    return (
        f"{delivery.id}  {delivery.state:<9}  {delivery.attempts:>3}  "
        f"{when.isoformat(timespec='seconds')}  {delivery.type}  {delivery.event_id}"
        f"  {delivery.url}{error}"
    )


COMMANDS = (webhooks,)
